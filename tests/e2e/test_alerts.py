"""conf-examples/smshook-alerts.yml: promtool accepts it, each alert
fires when its condition holds and not otherwise (promtool test rules on
made-up series), and every metric it uses is one that smshookctl stats
--prometheus writes after a real receiver answered."""
import json
import os
import re
import shutil
import subprocess
import sys

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import smshooktest as t  # noqa: E402
from smshooktest import eq, expect  # noqa: E402

RULES = os.path.join(t.TOP, "conf-examples", "smshook-alerts.yml")
METRICS = {"smshook_last_stored_event_timestamp_seconds",
           "smshook_answers_total", "smshook_import_lag_seconds",
           "smshook_import_up", "smshook_stats_timestamp_seconds",
           "smshook_spool_invalid_lines"}


def rules():
    """{alert name: rule} of the file."""
    with open(RULES) as f:
        doc = yaml.safe_load(f)
    return {r["alert"]: r for g in doc["groups"] for r in g["rules"]}


def promtool(*args):
    return subprocess.run(["promtool"] + list(args), capture_output=True,
                          text=True, timeout=60)


def check_rules():
    p = promtool("check", "rules", RULES)
    eq(p.returncode, 0, p.stdout + p.stderr)
    expect("SUCCESS: 7 rules found" in p.stdout, p.stdout)
    used = set()
    for r in rules().values():
        used |= set(re.findall(r"\bsmshook_[a-z_]+", r["expr"]))
    eq(used, METRICS, "metrics the rules use")


def fires(name, labels, at):
    """The expectation that alert name fires with these series labels
    at eval time at."""
    r = rules()[name]
    return {"eval_time": at, "alertname": name, "exp_alerts": [{
        "exp_labels": dict(labels, **r["labels"]),
        "exp_annotations": r["annotations"]}]}


def quiet(name, at):
    return {"eval_time": at, "alertname": name, "exp_alerts": []}


def series(name, labels, values):
    sel = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    return {"series": "%s{%s}" % (name, sel), "values": values}


def check_alerts_fire():
    """One minute per sample: a 503 at minute 5; 401s at one a minute
    (source a) and a single one (source b); events stored until minute
    10, then none; an import lag growing by a minute a minute; the
    import's database unreadable from minute 3; the metrics written
    every 5 minutes until minute 20, then no more; an invalid line
    more at minute 30, none new after it."""
    s503 = {"status": "503", "reason": "spool unavailable"}
    s401a = {"status": "401", "reason": "Invalid signature", "source": "a"}
    s401b = {"status": "401", "reason": "Invalid signature", "source": "b"}
    lag = {"source": "sqlite"}
    test = {
        "rule_files": [RULES],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                series("smshook_answers_total", s503, "0 0 0 0 0 1+0x30"),
                series("smshook_answers_total", s401a, "0+1x40"),
                series("smshook_answers_total", s401b, "0 0 0 1+0x40"),
                series("smshook_answers_total",
                       {"status": "200", "reason": "success"}, "0+9x300"),
                series("smshook_last_stored_event_timestamp_seconds", {},
                       "0+60x10 600+0x300"),
                series("smshook_import_lag_seconds", lag, "0+60x60"),
                series("smshook_import_up", lag, "1 1 1 0+0x60"),
                series("smshook_stats_timestamp_seconds", {},
                       "0 0 0 0 0 300 300 300 300 300 600 600 600 600 600 "
                       "900 900 900 900 900 1200+0x60"),
                series("smshook_spool_invalid_lines", {},
                       "2+0x30 3+0x60"),
            ],
            "alert_rule_test": [
                quiet("SmshookSpoolUnavailable", "4m"),
                fires("SmshookSpoolUnavailable", s503, "6m"),
                quiet("SmshookSpoolUnavailable", "12m"),
                fires("SmshookInvalidSignatures", s401a, "20m"),
                quiet("SmshookNoEventsStored", "180m"),
                fires("SmshookNoEventsStored", {}, "200m"),
                quiet("SmshookImportLagging", "25m"),
                fires("SmshookImportLagging", lag, "35m"),
                quiet("SmshookImportUnknown", "20m"),
                fires("SmshookImportUnknown", lag, "40m"),
                quiet("SmshookMetricsStale", "45m"),
                fires("SmshookMetricsStale", {}, "55m"),
                quiet("SmshookSpoolInvalidLines", "29m"),
                fires("SmshookSpoolInvalidLines", {}, "40m"),
                quiet("SmshookSpoolInvalidLines", "70m"),
            ],
        }, {
            # a purge drops old invalid lines at minute 20, a new one
            # comes at minute 31: the net change over the half hour is
            # down, the alert fires all the same
            "interval": "1m",
            "input_series": [
                series("smshook_spool_invalid_lines", {},
                       "10+0x20 3+0x10 4+0x60"),
            ],
            "alert_rule_test": [
                quiet("SmshookSpoolInvalidLines", "25m"),
                fires("SmshookSpoolInvalidLines", {}, "35m"),
                quiet("SmshookSpoolInvalidLines", "70m"),
            ],
        }],
    }
    d = t.tmpdir("smshook-alerts-")
    try:
        path = os.path.join(d, "test.yml")
        with open(path, "w") as f:
            json.dump(test, f, indent=1)        # JSON is YAML
        p = promtool("test", "rules", path)
        eq(p.returncode, 0, p.stdout + p.stderr)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def check_metrics_exist():
    """A receiver's answers, an import, then stats --prometheus: every
    metric the rules use is in the file."""
    d = t.tmpdir("smshook-alerts-stats-")
    try:
        conf = t.write_conf(d, extra="database = sqlite:smshook.db")
        eq(t.cgi(conf, body=t.json_body(t.event()))[0], 200, "stored")
        eq(t.cgi(conf, body=t.json_body(t.event(key="x")))[0], 401)
        for args in (["import"], ["stats", "--prometheus",
                                  os.path.join(d, "smshook.prom")]):
            p = t.ctl(conf, *args)
            eq(p.returncode, 0, " ".join(args) + ": " + p.stderr)
        with open(os.path.join(d, "smshook.prom")) as f:
            text = f.read()
        have = set(re.findall(r"^(smshook_[a-z_]+)[{ ]", text, re.M))
        eq(METRICS - have, set(), "metrics the rules use but stats lacks")
        expect(re.search(r"^smshook_import_up\{source=.*\} 1$", text, re.M),
               text)
        # the database unreadable: no lag, and import_up says so
        with open(os.path.join(d, "smshook.db"), "wb") as f:
            f.write(b"not a database" * 100)
        p = t.ctl(conf, "stats", "--prometheus", "-")
        eq(p.returncode, 0, p.stderr)
        expect("import metrics left out" in p.stderr, p.stderr)
        expect("smshook_import_lag_seconds" not in p.stdout and
               re.search(r"^smshook_import_up\{source=.*\} 0$", p.stdout,
                         re.M), p.stdout)
    finally:
        shutil.rmtree(d, ignore_errors=True)


def main():
    r = t.Runner("test_alerts")
    r.check("promtool check rules; the metrics used", check_rules)
    r.check("promtool test rules: each alert fires, and only then",
            check_alerts_fire)
    r.check("stats --prometheus has every metric used",
            check_metrics_exist)
    return r.finish()


if __name__ == "__main__":
    sys.exit(main())
