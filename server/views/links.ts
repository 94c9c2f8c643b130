// Every link the pages print goes through here, so the same views work on the server and in the
// static export under a base path.

/** How links are written. */
export interface Links {
  /** Prefix of every link, "" or a path like "/sparsebench" (no trailing slash). */
  base: string;
  /** Static export: pages are folders with an index.html and JSON files end in ".json". */
  static: boolean;
}

/** Links of the live server at the root. */
export const SERVER_LINKS: Links = { base: "", static: false };

/**
 * The href of a page or file of the site.
 *
 * @param links how links are written
 * @param path a site path starting with "/", possibly with a query
 * @returns the href
 * @example href({base: "/sb", static: true}, "/tasks/x") // "/sb/tasks/x/"
 */
export function href(links: Links, path: string): string {
  if (!links.static) return links.base + path;
  const [pathname] = path.split("?");
  const last = pathname.slice(pathname.lastIndexOf("/") + 1);
  if (pathname.startsWith("/api/") && !last.includes(".")) return `${links.base}${pathname}.json`;
  if (last.includes(".") || pathname.endsWith("/")) return links.base + pathname;
  return `${links.base}${pathname}/`;
}
