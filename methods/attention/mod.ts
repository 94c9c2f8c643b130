// Every attention method, in the order tables list them.
import { denseAttention } from "./dense.ts";
import { slidingWindowAttention } from "./sliding_window.ts";

export const attentionMethods = [denseAttention, slidingWindowAttention];
