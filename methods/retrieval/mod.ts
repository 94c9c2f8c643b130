// Every retrieval method, in the order tables list them.
import { bm25 } from "./bm25.ts";
import { bm25BlockMaxWand } from "./bm25_block_max_wand.ts";
import { bm25MaxScore } from "./bm25_maxscore.ts";
import { bm25Wand } from "./bm25_wand.ts";

export const retrievalMethods = [bm25, bm25MaxScore, bm25Wand, bm25BlockMaxWand];
