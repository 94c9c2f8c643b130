// Every pruning method, in the order tables list them.
import { densePruning } from "./dense.ts";
import { magnitudePruning } from "./magnitude.ts";
import { randomPruning } from "./random.ts";
import { wandaPruning } from "./wanda.ts";

export const pruningMethods = [densePruning, magnitudePruning, randomPruning, wandaPruning];
