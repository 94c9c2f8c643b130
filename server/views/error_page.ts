// The page every refused request gets: the status and a message, never a stack trace.
import { h } from "../html.ts";
import { layout } from "./layout.ts";
import { href, type Links } from "./links.ts";

/** An error page for `status` with a message that says what was expected. */
export function errorPage(status: number, message: string, links: Links): string {
  const title = status === 404 ? "Not found" : status === 400 ? "Bad request" : `Error ${status}`;
  const body = h`<h1>${title}</h1><p class="error-message">${message}</p><p><a href="${
    href(links, "/")
  }">Back to the overview</a></p>`;
  return layout({ title, links, body });
}
