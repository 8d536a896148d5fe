// upload.mjs: a blob upload (RFC 8620 6.1) that reports its progress, for the compose
// page's attachments. jmap.mjs's upload() uses fetch, which cannot tell how far a
// request body has gone; XMLHttpRequest can (xhr.upload progress events). Same
// authentication as every other call: the session cookie goes by itself (same
// origin) and the CSRF token as X-CSRF-Token (jmap.mjs's headers()).
import { JmapError } from './jmap.mjs';

// Start uploading file; {promise (resolves {blobId, type, size}, rejects a JmapError:
// "abort" when abort() was called, "http<status>" or the problem's type otherwise),
// abort()}. onProgress(loaded, total) as the bytes go out.
export function uploadFile(client, file, onProgress) {
	const xhr = new XMLHttpRequest();
	const url = client.session.uploadUrl.replace('{accountId}',
		encodeURIComponent(client.accountId));
	const promise = new Promise((resolve, reject) => {
		xhr.open('POST', url);
		const h = client.headers(false);
		for (const [k, v] of Object.entries(h))
			xhr.setRequestHeader(k, v);
		xhr.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
		xhr.responseType = 'text';
		xhr.upload.addEventListener('progress', (e) => {
			if (onProgress)
				onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
		});
		xhr.addEventListener('load', () => {
			let body = null;
			try {
				body = JSON.parse(xhr.responseText);
			} catch (e) {
				body = null;
			}
			if (xhr.status >= 200 && xhr.status < 300 && body && body.blobId) {
				resolve(body);
				return;
			}
			if (xhr.status === 401 && client.onUnauthorized) {
				client.forget();
				client.onUnauthorized();
			}
			reject(new JmapError((body && body.type) || 'http' + xhr.status,
				body && body.detail, xhr.status, body));
		});
		xhr.addEventListener('error', () => reject(new JmapError('network', null)));
		xhr.addEventListener('abort', () => reject(new JmapError('abort', null)));
		xhr.send(file);
	});
	return { promise, abort: () => xhr.abort() };
}

// The charset parameter a text/* attachment needs (RFC 2046 4.1.2): a browser's File
// has a type but no charset, and without one a reader takes the bytes for US-ASCII
// (RFC 2045 5.2), so "grüße" in a UTF-8 file would arrive garbled. "us-ascii" or
// "utf-8" when the bytes are that (a strict decode), null when not text, unknown, or
// larger than SNIFF_MAX (read whole to be sure; mail attachments are mostly small).
const SNIFF_MAX = 8 * 1024 * 1024;

export async function textCharset(file) {
	if (!(file.type || '').startsWith('text/') || file.size > SNIFF_MAX)
		return null;
	const bytes = new Uint8Array(await file.arrayBuffer());
	if (bytes.every((b) => b < 0x80))
		return 'us-ascii';
	try {
		new TextDecoder('utf-8', { fatal: true }).decode(bytes);
		return 'utf-8';
	} catch (e) {
		return null;
	}
}
