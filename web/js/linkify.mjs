// linkify.mjs: the links in a plain-text message (views/reader.mjs makes them <a>
// elements; nothing is ever parsed as HTML). Pure, so node's test runner checks it
// (tests/web/linkify.test.mjs). Only http:, https: and mailto: become links: a
// javascript: or data: "link" in a mail stays text. Trailing punctuation that ends a
// sentence is not part of the URL. The text is walked once; input of any length.

const LINK = /\b(?:https?:\/\/|mailto:)[^\s<>"'`]+/gi;
const TRAIL = /[.,;:!?)\]}'"]+$/;

// [{text} | {url}], in order; joined, the parts give the text back exactly.
export function linkParts(text) {
	const out = [];
	let last = 0;
	for (const m of String(text).matchAll(LINK)) {
		let url = m[0];
		const trail = url.match(TRAIL);
		if (trail)
			url = url.slice(0, -trail[0].length);
		if (!/^(?:https?:\/\/[^/?#\s]|mailto:[^\s])/i.test(url))
			continue; // "http://" alone, or cut to nothing: text
		if (m.index > last)
			out.push({ text: text.slice(last, m.index) });
		out.push({ url });
		last = m.index + url.length;
	}
	if (last < text.length)
		out.push({ text: text.slice(last) });
	return out;
}
