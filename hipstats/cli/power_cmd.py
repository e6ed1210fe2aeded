"""``hipstats power DESIGN --n 40 60 80 --sims 1000 --seed 1``: simulation-based power."""

from __future__ import annotations

import json
import sys

#: The designs ``hipstats power`` simulates: the keys of hipstats.power.models.ANALYSES
#: (tested), named here so that building the CLI's parser does not import hipstats.power
#: (scipy.stats and the batched analyses: 1 s of every command's start-up).
POWER_DESIGNS = ("pfps3wk", "program6wk")


def register(sub) -> None:
    p = sub.add_parser("power", help="power by simulation for a design",
                       description=__doc__.splitlines()[0])
    p.add_argument("design", choices=POWER_DESIGNS)
    p.add_argument("--n", type=int, nargs="+", default=[20, 40, 60],
                   help="subjects (program6wk) or subjects per arm (pfps3wk)")
    p.add_argument("--sims", type=int, default=1000, help="simulated data sets per n")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--alpha", type=float, default=0.05)
    p.add_argument("--analysis", help="program6wk: mixed|rm_corr; pfps3wk: ancova|ttest")
    p.add_argument("--effect", action="append", default=[], metavar="NAME=VALUE",
                   help="override a generative-model field, e.g. delta=1.5 (repeatable)")
    p.add_argument("--dropout", type=float, nargs="+", help="dropout per visit (or post)")
    p.add_argument("--scheduler", help="Dask scheduler address, or 'local' for a LocalCluster")
    p.add_argument("--plot", metavar="FILE", help="write the power curve (PNG or PDF)")
    p.add_argument("--json", action="store_true", help="print the table as JSON")
    p.set_defaults(func=run)


def assumptions_text(design: str, effects: dict, analysis: str) -> str:
    """The generative model simulated: every field, its value and where it comes from."""
    from dataclasses import fields

    from hipstats.power.models import NULL_EFFECT, SOURCES, model_for

    model = model_for(design, effects)
    src = SOURCES.get(design, {})
    lines = ["assumed model (override with --effect NAME=VALUE):"]
    for f in fields(model):
        v = getattr(model, f.name)
        v = ", ".join(f"{x:g}" for x in v) if isinstance(v, tuple) else f"{v:g}"
        where = "--effect" if f.name in effects else src.get(f.name, "assumption")
        lines.append(f"  {f.name} = {v}  ({where})")
    null = ", ".join(f"{k} = {v:g}" for k, v in NULL_EFFECT[analysis].items())
    lines.append(f"type I error and null coverage: the same design with {null}")
    return "\n".join(lines)


def type1_text(res, alpha: float) -> str:
    """One line per n whose simulated type I error is outside the 99% binomial band."""
    out = []
    for r in res.itertuples():
        t1 = getattr(r, "type1_error", float("nan"))
        hi, lo = getattr(r, "type1_band_high", float("nan")), getattr(r, "type1_band_low", 0)
        if t1 > hi:
            out.append(f"warning: at n = {r.n} the test rejected a true null in {t1:.1%} of "
                       f"data sets (an honest test: {lo:.1%}-{hi:.1%}); its power is "
                       "overstated at this size")
        elif t1 < lo:
            out.append(f"note: at n = {r.n} the test is conservative (type I error "
                       f"{t1:.1%}, band {lo:.1%}-{hi:.1%})")
    if not out:
        return (f"type I error within the 99% binomial band of {alpha:g} at every n "
                "(the test is honest at these sizes)")
    return "\n".join(out)


def run(args) -> int:
    from hipstats.power import simulate
    from hipstats.progress import is_interactive

    effects = {}
    for item in args.effect:
        if "=" not in item:
            print(f"hipstats: error: --effect expects NAME=VALUE, got {item!r}", file=sys.stderr)
            return 2
        k, v = item.split("=", 1)
        try:
            effects[k.strip()] = float(v)
        except ValueError:
            print(f"hipstats: error: --effect {k} needs a number, got {v!r}", file=sys.stderr)
            return 2
    dropout = None
    if args.dropout is not None:
        dropout = args.dropout[0] if len(args.dropout) == 1 and args.design == "pfps3wk" \
            else tuple(args.dropout)
    client = cluster = None
    try:
        if args.scheduler:
            from dask.distributed import Client, LocalCluster

            if args.scheduler == "local":
                cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None)
                client = Client(cluster)
            else:
                client = Client(args.scheduler)
        res = simulate(args.design, effects=effects, n=args.n, n_sims=args.sims,
                       dropout=dropout, alpha=args.alpha, seed=args.seed,
                       analysis=args.analysis, client=client, progress=is_interactive())
    except ValueError as exc:
        print(f"hipstats: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    if args.json:
        print(json.dumps(res.to_dict("records"), indent=2))
    else:
        cols = ["n", "power", "mc_se", "ci_low", "ci_high", "mean_estimate", "bias", "coverage",
                "type1_error", "null_coverage", "n_failed"]
        print(f"{args.design}: {res['term'].iloc[0]}, {args.sims} simulations per n, "
              f"alpha {args.alpha}")
        print(assumptions_text(args.design, effects, res["analysis"].iloc[0]))
        print(res[cols].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
        print(type1_text(res, args.alpha))
    if args.plot:
        import pandas as pd

        from hipstats.plots import power_curve, set_style
        from hipstats.report.outputs import PDF_METADATA, PNG_METADATA

        set_style()
        ax = power_curve(pd.DataFrame(res))
        meta = PDF_METADATA if args.plot.lower().endswith(".pdf") else PNG_METADATA
        ax.figure.savefig(args.plot, dpi=300, metadata=meta, bbox_inches="tight")
    return 0
