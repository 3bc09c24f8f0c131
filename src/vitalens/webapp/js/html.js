// twin: none (HTML escaping)
// Text placed into innerHTML (file names, error messages, labels, tips) goes through this first.
export const escapeHtml = (text) => String(text).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]));
