"""Learning curves as a PNG image, drawn with matplotlib's object API (no pyplot state, no
interactive backend): one panel per metric with its validation twin, the learning rate apart."""
import io

MAX_PANELS = 4
PANEL_INCHES = (3.4, 2.5)


def curves_png(series, title=None, dpi=80):
    """PNG bytes of `series` ({metric: [[epoch, value], ...]}), or None when it holds no point."""
    panels = _panels(series)
    if not panels:
        return None
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(PANEL_INCHES[0] * len(panels), PANEL_INCHES[1]), dpi=dpi, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(panels), squeeze=False)[0]
    for axis, (name, metrics) in zip(axes, panels):
        for metric in metrics:
            points = [point for point in series[metric] if point[1] is not None]
            axis.plot([p[0] for p in points], [p[1] for p in points], marker="o" if len(points) < 30 else None,
                      markersize=3, label=metric)
        axis.set_title(name, fontsize=9)
        axis.set_xlabel("epoch", fontsize=8)
        axis.tick_params(labelsize=7)
        axis.grid(alpha=0.3)
        if len(metrics) > 1:
            axis.legend(fontsize=7)
    if title:
        figure.suptitle(title, fontsize=9)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _panels(series):
    """[(panel name, [metrics])]: `loss` with `val_loss`, ..., the learning rate last."""
    groups = {}
    for metric, points in series.items():
        values = {point[1] for point in points if point[1] is not None}
        if not values or (_is_learning_rate(metric) and len(values) == 1):  # a constant rate says nothing drawn
            continue
        base = metric[4:] if metric.startswith("val_") else metric
        groups.setdefault(base, []).append(metric)
    names = sorted(groups, key=lambda name: (_is_learning_rate(name), list(groups).index(name)))
    return [(name, sorted(groups[name], key=lambda m: m.startswith("val_"))) for name in names][:MAX_PANELS]


def _is_learning_rate(metric):
    return "learning_rate" in metric or metric == "lr"
