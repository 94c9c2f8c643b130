// Every pruning method, in the order tables list them.
import { densePruning } from "./dense.ts";

export const pruningMethods = [densePruning];
