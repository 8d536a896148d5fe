// qr.mjs: a QR code (qrcode-generator from npm computes the modules) as one SVG path,
// so the settings page draws it with DOM calls alone: no markup string, no inline
// style (the page's CSP has no 'unsafe-inline'), crisp at any size. Pure apart from
// the factory it is handed, so node's test runner checks it (tests/web/test_qr.mjs).

// The modules of text as {size (modules per side, quiet zone included), d (an SVG path
// of one 1x1 square per dark module)}. Error correction M: a phone camera reads it
// off a screen at an angle; type 0 = the smallest version the text fits in.
export const QUIET = 4; // modules of white border a reader needs (ISO/IEC 18004)

export function qrPath(qrcode, text) {
	const q = qrcode(0, 'M');
	q.addData(text, 'Byte');
	q.make();
	const n = q.getModuleCount();
	const parts = [];
	for (let r = 0; r < n; r++)
		for (let c = 0; c < n; c++)
			if (q.isDark(r, c))
				parts.push(`M${c + QUIET} ${r + QUIET}h1v1h-1z`);
	return { size: n + 2 * QUIET, d: parts.join(''), modules: n };
}

const SVG = 'http://www.w3.org/2000/svg';

// An <svg> element of the code for text, white background, black modules.
export function qrSvg(doc, qrcode, text, label) {
	const { size, d } = qrPath(qrcode, text);
	const svg = doc.createElementNS(SVG, 'svg');
	svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
	svg.setAttribute('role', 'img');
	svg.setAttribute('aria-label', label);
	svg.setAttribute('shape-rendering', 'crispEdges');
	const bg = doc.createElementNS(SVG, 'rect');
	bg.setAttribute('width', String(size));
	bg.setAttribute('height', String(size));
	bg.setAttribute('fill', '#ffffff');
	const path = doc.createElementNS(SVG, 'path');
	path.setAttribute('d', d);
	path.setAttribute('fill', '#000000');
	svg.append(bg, path);
	return svg;
}
