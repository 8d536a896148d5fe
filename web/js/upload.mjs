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
