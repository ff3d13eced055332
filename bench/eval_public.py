#!/usr/bin/env python3
"""Model quality of CXInsight on public labelled sets, side by side with VADER.

The sets are not in this repository (their licences differ); pass them as TSV files with a header line and the
columns label<TAB>text, label in {pos, neg, neu}. Sets used for bench/results/insight.md:
  airline  Twitter US Airline Sentiment (Crowdflower / Kaggle `Tweets.csv`: airline_sentiment, text)
  tweets   Sentiment140 manually labelled test set (`testdata.manual.2009.06.14.csv`: 0 neg, 2 neu, 4 pos)
  reviews  UCI Sentiment Labelled Sentences (`amazon_cells_labelled.txt` + `yelp_labelled.txt`: 0 neg, 1 pos)

Usage: bench/eval_public.py [--agent PATH] NAME=FILE.tsv ...
For a set whose name starts with `airline`, negative tweets count as complaints: it also reports complaint recall (the share of
negative tweets with a complaint intent), complaint precision, and what a -0.5 compound threshold would catch.
Prints one JSON object.
"""
import argparse, csv, json, subprocess, sys

def load(path):
    with open(path, encoding="utf-8") as f:
        rows = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(rows)
        return [(r[0], r[-1].replace("\n", " ")) for r in rows if r and r[0] in ("pos", "neg", "neu")]

def analyze(agent, texts):
    body = "".join(json.dumps({"text": t}) + "\n" for t in texts)
    out = subprocess.run([agent, "analyze", "-"], input=body, capture_output=True, text=True, check=True).stdout
    res = [json.loads(line) for line in out.splitlines() if line.strip()]
    if len(res) != len(texts):
        sys.exit(f"cx-agent analyze returned {len(res)} results for {len(texts)} texts")
    return res

def polarity(c):
    return "pos" if c >= 0.05 else ("neg" if c <= -0.05 else "neu")

def macro_f1(gold, pred, labels):
    scores = []
    for label in labels:
        tp = sum(g == label and p == label for g, p in zip(gold, pred))
        fp = sum(g != label and p == label for g, p in zip(gold, pred))
        fn = sum(g == label and p != label for g, p in zip(gold, pred))
        pr = tp / (tp + fp) if tp + fp else 0.0
        rc = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * pr * rc / (pr + rc) if pr + rc else 0.0)
    return sum(scores) / len(scores)

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--agent", default=".build/release/cx-agent")
    ap.add_argument("sets", nargs="+", metavar="NAME=FILE.tsv")
    args = ap.parse_args()
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
        vader = SentimentIntensityAnalyzer()
    except ImportError:
        vader = None
    report = {}
    for spec in args.sets:
        name, _, path = spec.partition("=")
        rows = load(path)
        gold = [g for g, _ in rows]
        texts = [t for _, t in rows]
        res = analyze(args.agent, texts)
        scorers = {"cxinsight": [r["sentiment"]["compound"] for r in res]}
        if vader:
            scorers["vader"] = [vader.polarity_scores(t)["compound"] for t in texts]
        d = {"texts": len(rows), "labels": {l: gold.count(l) for l in sorted(set(gold))}}
        for who, comp in scorers.items():
            pred = [polarity(c) for c in comp]
            if "neu" in gold:
                d[f"{who}_accuracy_3class"] = round(sum(g == p for g, p in zip(gold, pred)) / len(gold), 3)
                d[f"{who}_macro_f1"] = round(macro_f1(gold, pred, sorted(set(gold))), 3)
            polar = [(g, c) for g, c in zip(gold, comp) if g != "neu"]
            d[f"{who}_accuracy_pos_neg"] = round(sum(c != 0 and (g == "pos") == (c > 0) for g, c in polar) / len(polar), 3)
        if name.startswith("airline"):
            kinds = [{i["kind"] for i in r["intents"]} for r in res]
            neg = [i for i, g in enumerate(gold) if g == "neg"]
            flagged = [i for i in range(len(gold)) if "complaint" in kinds[i]]
            d["complaint_recall_on_negative"] = round(sum("complaint" in kinds[i] for i in neg) / len(neg), 3)
            d["complaint_precision"] = round(sum(gold[i] == "neg" for i in flagged) / max(1, len(flagged)), 3)
            for who, comp in scorers.items():
                d[f"{who}_compound_le_-0.5_recall_on_negative"] = round(sum(comp[i] <= -0.5 for i in neg) / len(neg), 3)
        report[name] = d
    print(json.dumps(report, indent=1))

if __name__ == "__main__":
    main()
