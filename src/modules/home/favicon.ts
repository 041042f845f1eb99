/**
 * The browser tab's icon, embedded so the binary needs no file beside it: without one a browser's
 * automatic /favicon.ico request is a 404, logged as an error in its console.
 */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#2b6cb0"/><circle cx="11" cy="16" r="5" fill="none" stroke="#fff" stroke-width="3"/><path d="M16 16h11m-3 0v5m-4-5v4" fill="none" stroke="#fff" stroke-width="3"/></svg>
`;

/** The link every page of ours puts in its head: an SVG, though served at the path browsers try by themselves. */
export const FAVICON_LINK = '<link rel="icon" href="/favicon.ico" type="image/svg+xml">';
