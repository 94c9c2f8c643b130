// A small seeded PRNG, so every generated dataset is reproducible from its documented seed.

/** mulberry32: 32-bit state, good enough for test data, identical on every platform. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal samples by Box–Muller over `uniform`. */
export function normal(uniform: () => number): () => number {
  return () => {
    const u = Math.max(uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

/** A 32-bit hash of a string (FNV-1a), to derive per-case seeds from the run seed. */
export function hashString(text: string, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Hex sha256 of the bytes of some typed arrays, in order. */
/** Hex sha256 of a string's UTF-8 bytes. */
export function sha256OfText(text: string): Promise<string> {
  return sha256Hex(new TextEncoder().encode(text));
}

export async function sha256Hex(...parts: ArrayBufferView[]): Promise<string> {
  // One part (a whole data file, often hundreds of MB) is hashed in place, without a copy.
  let bytes: ArrayBufferView;
  if (parts.length === 1) {
    bytes = parts[0];
  } else {
    const total = parts.reduce((n, p) => n + p.byteLength, 0);
    const joined = new Uint8Array(total);
    let offset = 0;
    for (const p of parts) {
      joined.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), offset);
      offset += p.byteLength;
    }
    bytes = joined;
  }
  const digest = await crypto.subtle.digest("SHA-256", bytes as BufferSource);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
