// A tiny escaping template tag: every interpolated value is HTML-escaped unless it is already
// markup built by this tag, so strings from result files can never become markup.

/** Markup that is already safe to emit as is (built by {@link h} or {@link trusted}). */
export class Html {
  /** @param value the markup text */
  constructor(readonly value: string) {}
  /** @returns the markup text */
  toString(): string {
    return this.value;
  }
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for use in HTML content and quoted attribute values.
 *
 * @param text any text
 * @returns the text with `& < > " '` replaced by entities
 * @example escapeHtml("<b>") // "&lt;b&gt;"
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ESCAPES[ch]);
}

/** A value that may be interpolated into {@link h}. */
export type Part = Html | string | number | boolean | null | undefined | Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return "";
  if (part instanceof Html) return part.value;
  if (Array.isArray(part)) return part.map(render).join("");
  return escapeHtml(String(part));
}

/**
 * Builds markup, escaping every interpolated value that is not already {@link Html}.
 *
 * @example h`<td>${name}</td>` // name "<x>" renders as "&lt;x&gt;"
 */
export function h(strings: TemplateStringsArray, ...parts: Part[]): Html {
  let out = strings[0];
  for (let i = 0; i < parts.length; i++) out += render(parts[i]) + strings[i + 1];
  return new Html(out);
}

/** Marks text produced by this code (never by a result file) as markup. */
export function trusted(markup: string): Html {
  return new Html(markup);
}

/**
 * Serialises data for a `<script type="application/json">` block: `<`, `>` and `&` become
 * unicode escapes so the data cannot close the element or open a comment.
 *
 * @param data any JSON-serialisable value
 * @returns markup safe to place inside the script element
 */
export function jsonForScript(data: unknown): Html {
  return new Html(
    JSON.stringify(data).replace(
      /[<>&\u2028\u2029]/g,
      (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
    ),
  );
}
