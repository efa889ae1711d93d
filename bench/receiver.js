// receiver.js: what a Node.js user writes instead of smshook, with only
// the built-in http, crypto, fs and cluster modules. Verifies the
// signature (createHmac + timingSafeEqual), appends one JSONL line to the
// day file, answers JSON. Node has no flock: the line goes out in one
// O_APPEND write (fs.appendFile), which is what such a receiver does.
//   node receiver.js PORT WORKERS   (env SMSHOOK_KEY, SMSHOOK_SPOOL)
'use strict';
const cluster = require('cluster');
const crypto = require('crypto');
const fs = require('fs');
const http = require('http');

const port = Number(process.argv[2]);
const workers = Number(process.argv[3] || 2);
const key = process.env.SMSHOOK_KEY;
const spool = process.env.SMSHOOK_SPOOL;

function answer(res, code, obj) {
	const body = JSON.stringify(obj);
	res.writeHead(code, { 'Content-Type': 'application/json',
	    'Content-Length': Buffer.byteLength(body) });
	res.end(body);
}

function handle(req, res, raw) {
	if (req.method !== 'POST' || raw.length === 0)
		return answer(res, 200, { status: 'ok' });
	let ev;
	try {
		ev = JSON.parse(raw);
	} catch (e) {
		return answer(res, 400, { error: 'malformed body' });
	}
	if (ev === null || typeof ev !== 'object')
		return answer(res, 400, { error: 'malformed body' });
	for (const k of ['timestamp', 'token', 'signature'])
		if (ev[k] === undefined || typeof ev[k] === 'object')
			return answer(res, 400, { error: 'missing ' + k });
	const expect = crypto.createHmac('sha256', key)
	    .update(String(ev.timestamp) + String(ev.token)).digest();
	const got = Buffer.from(String(ev.signature), 'hex');
	if (got.length !== expect.length ||
	    !crypto.timingSafeEqual(got, expect))
		return answer(res, 401, { error: 'Invalid signature' });
	const now = new Date();
	const line = JSON.stringify({ v: 1, received_at: now.toISOString(),
	    remote_addr: req.socket.remoteAddress, encoding: 'json',
	    verified: true, payload: ev }) + '\n';
	const path = spool + '/' + now.toISOString().slice(0, 10) + '.jsonl';
	fs.appendFile(path, line, (err) => {
		if (err)
			return answer(res, 503, { error: 'spool unavailable' });
		answer(res, 200, { status: 'success' });
	});
}

if (cluster.isPrimary) {
	for (let i = 0; i < workers; i++)
		cluster.fork();
	process.on('SIGTERM', () => {
		for (const id in cluster.workers)
			cluster.workers[id].kill();
		process.exit(0);
	});
} else {
	http.createServer((req, res) => {
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => handle(req, res,
		    Buffer.concat(chunks).toString('utf8')));
	}).listen(port, '127.0.0.1');
}
