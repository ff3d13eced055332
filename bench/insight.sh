#!/usr/bin/env bash
# Insight benchmark (issue 4), one command, release build:
#   CXInsight sentiment alone and full enrichment (PII masking, customer-id HMAC, sentiment, intents,
#   themes, language, bot/spam, near-duplicates, alert rules), texts/s on one core, on the first
#   100,000 non-null texts of the standard workload; in the same run the peer VADER
#   (vaderSentiment 3.3.2, ../shared/bench/peers/vader_bench.py) on the same texts and the same core.
# Goals: sentiment >= 30x VADER, full enrichment >= 10x VADER.
# Writes bench/results/insight.md and prints it.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
ROOT=$(pwd)
PEERS=${PEERS:-$ROOT/../shared/bench/peers}
EVENTS=${EVENTS:-/tmp/cx_events_1m.jsonl}
N=${N:-100000}
REPS=${REPS:-3}
CPU=${CPU:-0}
WORK=${WORK:-/tmp/cxsync-bench-insight}
OUT=$ROOT/bench/results/insight.md
rm -rf "$WORK" && mkdir -p "$WORK" "$ROOT/bench/results"

ensure_workload "$EVENTS"
python3 -c "import vaderSentiment" 2>/dev/null || python3 -m pip install -q "vaderSentiment==3.3.2"
build_release cx-bench
BIN=$(swift build -c release --show-bin-path)

# The two scorers alternate, one repetition each, so that both see the same state of a shared, noisy machine.
for REP in $(seq 1 "$REPS"); do
    DUMP_CX=() DUMP_VADER=()
    if [ "$REP" = 1 ]; then
        DUMP_CX=(--dump "$WORK/cxinsight_compound.tsv")
        DUMP_VADER=(--dump "$WORK/vader_compound.tsv")
    fi
    echo "== [$REP/$REPS] CXInsight (cx-bench insight), pinned to CPU $CPU"
    taskset -c "$CPU" "$BIN/cx-bench" insight --events "$EVENTS" --n "$N" --reps 1 "${DUMP_CX[@]}" \
        | tee "$WORK/insight.$REP.json"
    echo "== [$REP/$REPS] VADER (vader_bench.py), pinned to CPU $CPU"
    python3 "$PEERS/vader_bench.py" --events "$EVENTS" --n "$N" --reps 1 --cpu "$CPU" "${DUMP_VADER[@]}" \
        | tail -1 | tee "$WORK/vader.$REP.json"
done
echo "== the agent's enrichment path (cx-bench enrich-path), pinned to CPU $CPU"
taskset -c "$CPU" "$BIN/cx-bench" enrich-path --events "$EVENTS" --reps "$REPS" --request-path \
    | tee "$WORK/enrich-path.json"

python3 - "$WORK" "$OUT" <<'PY'
import json, os, platform, subprocess, sys, datetime
work, out = sys.argv[1], sys.argv[2]
import statistics
import re
reps = sorted(int(m.group(1)) for m in (re.fullmatch(r"insight\.(\d+)\.json", n) for n in os.listdir(work)) if m)
runs = [(json.load(open(os.path.join(work, f"insight.{r}.json"))), json.load(open(os.path.join(work, f"vader.{r}.json"))))
        for r in reps]
med = statistics.median
s = dict(runs[0][0])
s["reps"] = len(runs)
s["sentiment_texts_per_s_all"] = [c["sentiment_texts_per_s"] for c, _ in runs]
s["enrich_texts_per_s_all"] = [c["enrich_texts_per_s"] for c, _ in runs]
s["sentiment_texts_per_s"] = round(med(s["sentiment_texts_per_s_all"]))
s["enrich_texts_per_s"] = round(med(s["enrich_texts_per_s_all"]))
s["sentiment_us_per_text"] = round(1e6 / s["sentiment_texts_per_s"], 1)
s["enrich_us_per_text"] = round(1e6 / s["enrich_texts_per_s"], 1)
v = dict(runs[0][1])
v["reps"] = len(runs)
v["texts_per_s_all"] = [x["texts_per_s"] for _, x in runs]
v["texts_per_s"] = round(med(v["texts_per_s_all"]))
v["us_per_text"] = round(1e6 / v["texts_per_s"], 1)
ratios = [(c["sentiment_texts_per_s"] / x["texts_per_s"], c["enrich_texts_per_s"] / x["texts_per_s"]) for c, x in runs]
p = json.load(open(os.path.join(work, "enrich-path.json")))
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
nproc = os.cpu_count()
swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
try:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
except Exception:
    commit = "?"
# agreement of polarity signs between the two scorers, text by text
def load(p):
    d = {}
    for line in open(p):
        k, c = line.rstrip("\n").split("\t")
        d[k] = float(c)
    return d
a, b = load(os.path.join(work, "cxinsight_compound.tsv")), load(os.path.join(work, "vader_compound.tsv"))
pol = lambda c: 1 if c >= 0.05 else (-1 if c <= -0.05 else 0)
same = sum(1 for k in a if k in b and pol(a[k]) == pol(b[k]))
vr = v["texts_per_s"]
rs, re_ = s["sentiment_texts_per_s"] / vr, s["enrich_texts_per_s"] / vr
md = f"""# Insight benchmark (issue 4)

`bench/insight.sh` — {datetime.datetime.utcnow().strftime('%Y-%m-%d %H:%M UTC')}, commit {commit}, release build.

Workload: first {s['texts']:,} non-null `text` values of `{os.environ.get('EVENTS', '/tmp/cx_events_1m.jsonl')}`
(`gen_events.py`, mean {s['mean_chars']} characters). Both scorers pinned to one CPU, same texts, same run.
They alternate, one repetition each, {s['reps']} times, so that both see the same state of a shared machine;
the table shows the medians.

| scorer | texts/s (one core) | µs/text | × VADER | goal |
| --- | ---: | ---: | ---: | --- |
| VADER {v['vaderSentiment']} (Python {v['python']}) `polarity_scores` | {vr:,} | {v['us_per_text']} | 1.0 | — |
| CXInsight sentiment alone (`InsightEngine.sentiment`) | {s['sentiment_texts_per_s']:,} | {s['sentiment_us_per_text']} | **{rs:.1f}** | ≥ 30 {'✅' if rs >= 30 else '❌'} |
| CXInsight full enrichment (`InsightEngine.enrich(_:state:)`) | {s['enrich_texts_per_s']:,} | {s['enrich_us_per_text']} | **{re_:.1f}** | ≥ 10 {'✅' if re_ >= 10 else '❌'} |

Full enrichment = PII masking, HMAC-SHA256 of the customer id (cached per state), sentiment, intents with
phrases, complaint cues and prior, themes (4 dimensions), language + confidence, bot/spam heuristics,
SimHash near-duplicate window (1,024, band index), alert rules (7 default rules, cooldown, de-dup, spike window).

The agent's whole enrichment path (`cx-bench enrich-path`: requests of 100 events, the first {p['events']:,} events
of the workload with or without text), CPU per event on one core, best of {p.get('reps', s['reps'])}: what the agent runs,
the packed enrichment (`EventEnricher.enrichPacked`) encoded straight into the stored row,
**{p['enrich_packed_and_encode_us']} µs**; the same through a full `Enrichment` (`EventEnricher.enrich`, then the payload
encoding) {p['enrich_us']} + {p['encode_enriched_us']} µs; the row of a plain event {p['encode_plain_us']} µs
({p['payload_packed_bytes']:.0f} bytes enriched, themes as codes beside it, against {p['payload_plain_bytes']:.0f} plain).
The agent's whole request path without its writer (`--request-path`: read the NDJSON body, validate, enrich, encode
the rows, write the answer), on the same core: **{p['request_plain_us']} µs** per event plain, **{p['request_enriched_us']} µs** enriched;
enrichment is {100 * (p['request_enriched_us'] - p['request_plain_us']) / p['request_enriched_us']:.0f}% of an enriched request's CPU before the commit. What enrichment costs the agent's
durable ingest rate is measured end to end by `bench/run.sh` (`bench/results/foundation.md`).

Ratio of each repetition to the VADER run beside it (sentiment / enrichment):
{', '.join(f'{a:.1f}× / {b:.1f}×' for a, b in ratios)}.
All reps: CXInsight sentiment {s['sentiment_texts_per_s_all']}, enrichment {s['enrich_texts_per_s_all']};
VADER {v['texts_per_s_all']}. Engine load (lexicon, rules, taxonomy parse): {s['engine_load_s']} s; VADER load {v['analyzer_load_s']} s.

Sanity (not accuracy; the synthetic texts carry survey/review scores):
sign agrees with the score's polarity — VADER {v['sign_agrees_with_score_pct']} %, CXInsight sentiment
{s['sign_agrees_with_score_pct']} %, CXInsight enriched {s['enriched_sign_agrees_with_score_pct']} % (of {s['scored_texts_checked']:,} scored texts).
Same polarity class as VADER on {100.0 * same / max(1, len(a)):.1f} % of texts. Label mix CXInsight {s['label_mix']}, VADER {v['label_mix']}.
Model version `{s['model_version']}`. Intents {s['intents']}, flags {s['flags']}, alerts raised {s['alerts_raised']:,}.

Machine: {nproc} CPUs (`nproc`), {model}; {platform.system()} {platform.release()}; {swift}.
"""
open(out, "w").write(md)
print(md)
PY
