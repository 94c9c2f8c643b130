// The two buffers every attention kernel leaves its results in: the output rows and, per row,
// how many keys the kernel actually scored (from which realized density is counted).
import { createStorage } from "../../gpu/buffers.ts";
import { type AttentionShape, queryCount } from "./_interface.ts";

/**
 * Allocates a kernel's `output` (heads × query rows × headDim float32) and `visited` (one u32
 * per head and query row) buffers.
 *
 * @param device the run's device
 * @param shape the attention shape; `heads` overrides its heads (e.g. the slices of a staged run)
 * @returns both buffers, which the kernel owns and destroys
 */
export function createAttentionOutputs(
  device: GPUDevice,
  shape: AttentionShape,
  options: { heads?: number } = {},
): { output: GPUBuffer; visited: GPUBuffer } {
  const rows = (options.heads ?? shape.heads) * queryCount(shape);
  return {
    output: createStorage(device, rows * shape.headDim * 4, "attention-output"),
    visited: createStorage(device, rows * 4, "attention-visited"),
  };
}
