<?php
// receiver.php: what a shared-hosting user writes instead of smshook.
// Verifies the SMSHook signature (hash_hmac + hash_equals), appends one
// JSONL line to the day file under flock(LOCK_EX), answers JSON. Settings
// come from the environment: SMSHOOK_KEY, SMSHOOK_SPOOL.
header('Content-Type: application/json');

function answer($code, $obj)
{
	http_response_code($code);
	echo json_encode($obj);
	exit;
}

if ($_SERVER['REQUEST_METHOD'] !== 'POST')
	answer(200, ['status' => 'ok']);
$raw = file_get_contents('php://input');
if ($raw === '' || $raw === false)
	answer(200, ['status' => 'ok']);
$ev = json_decode($raw, true);
if (!is_array($ev))
	answer(400, ['error' => 'malformed body']);
foreach (['timestamp', 'token', 'signature'] as $k)
	if (!isset($ev[$k]) || !is_scalar($ev[$k]))
		answer(400, ['error' => "missing $k"]);
$expect = hash_hmac('sha256', $ev['timestamp'] . $ev['token'],
    getenv('SMSHOOK_KEY'));
if (!hash_equals($expect, (string)$ev['signature']))
	answer(401, ['error' => 'Invalid signature']);
$now = microtime(true);
$line = json_encode([
	'v' => 1,
	'received_at' => gmdate('Y-m-d\TH:i:s', (int)$now) .
	    sprintf('.%03dZ', ($now - floor($now)) * 1000),
	'remote_addr' => $_SERVER['REMOTE_ADDR'] ?? '',
	'encoding' => 'json',
	'verified' => true,
	'payload' => $ev,
], JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES) . "\n";
$path = getenv('SMSHOOK_SPOOL') . '/' . gmdate('Y-m-d') . '.jsonl';
$f = fopen($path, 'a');
if ($f === false || !flock($f, LOCK_EX))
	answer(503, ['error' => 'spool unavailable']);
$ok = fwrite($f, $line) === strlen($line) && fflush($f);
flock($f, LOCK_UN);
fclose($f);
if (!$ok)
	answer(503, ['error' => 'spool unavailable']);
answer(200, ['status' => 'success']);
