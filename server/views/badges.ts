// Small markers shared by the pages: a submission nobody verified, a latency that did not settle.
import type { Fidelity } from "../../bench/metadata.ts";
import { h, type Html } from "../html.ts";

/** A badge for rows or runs that came from a submission nobody has verified. */
export function unverifiedBadge(verified: boolean): Html {
  return verified
    ? h``
    : h` <span class="badge unverified" title="submitted, not verified">unverified</span>`;
}

/**
 * A badge for a latency whose adaptive sampling reached its cap before the median's 95% interval
 * came within ±3%: the figure is real but less certain than the others.
 */
export function noisyBadge(noisy: boolean | null): Html {
  return noisy
    ? h` <span class="badge noisy" title="sampling stopped at its cap before the 95% interval of the median came within ±3%">noisy</span>`
    : h``;
}

/**
 * A method's fidelity label (faithful, simplified, stand-in, oracle, peer, baseline) with its
 * reason on hover; a label taken from the catalog for an older run file says so.
 */
export function fidelityBadge(
  fidelity: Fidelity | null,
  from: "run" | "catalog" | null = "run",
): Html {
  if (!fidelity) {
    return h` <span class="badge fidelity" title="no label in this run file">unlabelled</span>`;
  }
  const note = from === "catalog" ? " (today's label: the run file predates labels)" : "";
  return h` <span class="badge fidelity fidelity-${fidelity.level}" title="${
    fidelity.reason + note
  }">${fidelity.level}${from === "catalog" ? "*" : ""}</span>`;
}
