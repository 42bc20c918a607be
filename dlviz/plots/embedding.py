"""A 2-D embedding as a self-contained HTML scatter whose hover shows the image under the mouse.

Plotly's hover labels cannot show pictures, so :func:`embedding_html` draws the points on a
``<canvas>`` with a few lines of plain JavaScript: hovering shows the nearest point's image
(pixelated), its true label, the prediction and its index; the wheel zooms, dragging pans, a
double click resets, and clicking a legend entry hides or shows that group. All images travel once,
as one grayscale PNG sprite sheet in a data URL: no network, no CDN, about 0.3 MB for 2,000 MNIST
digits. :func:`embedding_figure` is the same picture as a plain Plotly figure (no images).
No streamlit here.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from typing import Callable, Sequence

import numpy as np
import plotly.graph_objects as go
from PIL import Image

from dlviz.i18n import translate
from dlviz.plots.figures import CORRECT, WRONG
from dlviz.plots.safe import as_text

Tr = Callable[..., str]

# Okabe-Ito's eight colour-blind-safe colours, then grey and Paul Tol's wine for classes 9 and 10
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000", "#999999", "#882255")
COLOUR_BY = ("label", "correct")


def _en(text: str, **kw) -> str:
    return translate(text, "en", **kw)


def class_colour(k: int) -> str:
    return PALETTE[k % len(PALETTE)]


def sprite_sheet(images: np.ndarray, cols: int | None = None) -> tuple[bytes, int]:
    """(PNG bytes, columns): images (N, H, W) uint8 tiled row by row into one 4-bit grayscale PNG; colour ones
    (N, H, W, 3) into one colour PNG.

    Dark ink on white, as the app's other image grids show digits (pixel 255 becomes black). Sixteen
    grey levels (v // 17 * 17) look the same at this size and halve the file (about 0.2 MB for
    2,000 MNIST digits).
    """
    images = np.asarray(images)
    colour = images.ndim == 4 and images.shape[-1] == 3
    if not (images.ndim == 3 or colour) or images.dtype != np.uint8:
        raise ValueError(f"images must be (N, H, W) or (N, H, W, 3) uint8, got {images.shape} {images.dtype}")
    n, h, w = images.shape[:3]
    cols = cols or max(1, math.ceil(math.sqrt(n)))
    rows = max(1, math.ceil(n / cols))
    if colour:  # colour photos as themselves, in 64 colours (a third of the size, alike at this size)
        sheet = np.full((rows * h, cols * w, 3), 255, dtype=np.uint8)
        for i in range(n):
            r, c = divmod(i, cols)
            sheet[r * h : (r + 1) * h, c * w : (c + 1) * w] = images[i]
        buf = io.BytesIO()
        Image.fromarray(sheet).quantize(64).save(buf, format="PNG")
        return buf.getvalue(), cols
    sheet = np.zeros((rows * h, cols * w), dtype=np.uint8)
    for i in range(n):
        r, c = divmod(i, cols)
        sheet[r * h : (r + 1) * h, c * w : (c + 1) * w] = images[i]
    img = Image.fromarray((255 - sheet) // 17)  # levels 0..15
    img.putpalette([v * 17 for v in range(16) for _ in range(3)])  # an L image with a palette becomes P
    buf = io.BytesIO()
    img.save(buf, format="PNG", bits=4)
    return buf.getvalue(), cols


def _script_json(obj) -> str:
    """JSON safe inside <script>: no '</script>', no HTML-significant characters, no JS line breaks."""
    s = json.dumps(obj, ensure_ascii=False, separators=(",", ":"))
    return (
        s.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def _groups(
    labels: np.ndarray, preds: np.ndarray | None, classes: Sequence[str], colour_by: str, tr: Tr
) -> tuple[np.ndarray, list[tuple[str, str, int]]]:
    """(group index per point (N,), legend rows (name, colour, count))."""
    if colour_by == "correct":
        if preds is None:
            raise ValueError("colour_by='correct' needs preds")
        group = (preds != labels).astype(int)  # 0 right, 1 wrong
        return group, [(tr("right"), CORRECT, int((group == 0).sum())), (tr("wrong"), WRONG, int((group == 1).sum()))]
    if colour_by != "label":
        raise ValueError(f"colour_by must be one of {COLOUR_BY}, got {colour_by!r}")
    k = max(len(classes), int(labels.max()) + 1 if len(labels) else 0)
    names = [str(classes[i]) if i < len(classes) else str(i) for i in range(k)]
    return labels.astype(int), [(names[i], class_colour(i), int((labels == i).sum())) for i in range(k)]


def embedding_html(
    coords,
    images,
    labels,
    preds=None,
    classes: Sequence[str] = (),
    colour_by: str = "label",
    indices=None,
    tr: Tr = _en,
    height: int = 520,
    point_size: float = 3.5,
    clickable: bool = False,
) -> str:
    """A complete HTML document: the scatter of ``coords`` (N, 2) with hover images.

    ``images`` (N, H, W) uint8 are the points' images (ink high, as in MNIST), ``labels`` (N,) the
    true classes, ``preds`` (N,) the predictions (None: not shown, and only ``colour_by="label"``),
    ``indices`` (N,) the numbers shown as "image #" (the dataset's test indices; default 0..N-1).
    ``colour_by``: "label" (one colour per class) or "correct" (blue right, vermillion wrong).
    Every text is escaped; nothing is fetched from the network. ``clickable``: a click on a point (not
    a drag) posts ``{"dlvizOpen": index}`` to the parent window, which may open that image elsewhere.
    """
    xy = np.asarray(coords, dtype=np.float64)
    labels = np.asarray(labels).astype(int)
    preds = None if preds is None else np.asarray(preds).astype(int)
    images = np.asarray(images)
    n = len(xy)
    if xy.shape != (n, 2) or len(labels) != n or len(images) != n or (preds is not None and len(preds) != n):
        raise ValueError("coords (N, 2), images, labels and preds must describe the same N points")
    indices = np.arange(n) if indices is None else np.asarray(indices).astype(int)
    group, legend = _groups(labels, preds, classes, colour_by, tr)
    lo, hi = (xy.min(0), xy.max(0)) if n else (np.zeros(2), np.ones(2))
    span = float(max((hi - lo).max(), 1e-12))
    # a square frame keeps the map's proportions: distances mean the same across and down
    unit = (xy - (lo + hi) / 2) / span + 0.5 if n else xy
    q = np.rint(np.clip(unit, 0, 1) * 10000).astype(int)
    png, cols = sprite_sheet(images) if n else (b"", 1)
    h, w = images.shape[1:3] if n else (28, 28)
    names = [str(c) for c in classes] or [str(i) for i in range(int(labels.max(initial=-1)) + 1)]
    data = {
        "x": q[:, 0].tolist(),
        "y": q[:, 1].tolist(),
        "g": group.tolist(),
        "l": labels.tolist(),
        "p": None if preds is None else preds.tolist(),
        "i": indices.tolist(),
        "colours": [c for _, c, _ in legend],
        "names": names,
        "cols": cols,
        "h": int(h),
        "w": int(w),
        "top": int(legend[1][2] < legend[0][2]) if colour_by == "correct" else None,
        "r": point_size,
        "text": {
            "true": tr("true: {label}"),
            "pred": tr("predicted: {label}"),
            "index": tr("test image #{index}"),
            "right": tr("right"),
            "wrong": tr("wrong"),
        },
    }
    legend_html = "".join(
        f'<button class="lg" data-g="{k}" title="{html.escape(tr("Click to hide or show"))}">'
        f'<span class="sw" style="background:{colour}"></span>{html.escape(name)} '
        f'<span class="n">({count:,})</span></button>'
        for k, (name, colour, count) in enumerate(legend)
    )
    hint = html.escape(
        tr(
            "Hover a point to see its image; click it to open it on Inspect and Explain. Wheel: "
            "zoom, drag: pan, double click: reset."
        )
        if clickable
        else tr("Hover a point to see its image. Wheel: zoom, drag: pan, double click: reset.")
    )
    sprite = base64.b64encode(png).decode("ascii")
    return (
        _TEMPLATE.replace("%%HEIGHT%%", str(int(height)))
        .replace("%%LEGEND%%", legend_html)
        .replace("%%HINT%%", hint)
        .replace("%%SPRITE%%", sprite)
        .replace("%%CLICKABLE%%", "true" if clickable else "false")
        .replace("%%DATA%%", _script_json(data))
    )


def embedding_figure(
    coords,
    labels,
    preds=None,
    classes: Sequence[str] = (),
    colour_by: str = "label",
    indices=None,
    tr: Tr = _en,
    height: int = 520,
) -> go.Figure:
    """The same map as a Plotly figure (static fallback, screenshots): one trace per colour group."""
    xy = np.asarray(coords, dtype=np.float64)
    labels = np.asarray(labels).astype(int)
    preds = None if preds is None else np.asarray(preds).astype(int)
    indices = np.arange(len(xy)) if indices is None else np.asarray(indices).astype(int)
    group, legend = _groups(labels, preds, classes, colour_by, tr)
    names = [as_text(c) for c in classes] or [str(i) for i in range(int(labels.max(initial=-1)) + 1)]
    fig = go.Figure()
    for k, (name, colour, count) in enumerate(legend):
        m = group == k
        if not m.any():
            continue
        custom = np.stack(
            [
                indices[m],
                [names[v] for v in labels[m]],
                [names[v] for v in (preds[m] if preds is not None else labels[m])],
            ],
            axis=1,
        )
        hover = (
            f"{tr('test image #{index}', index='%{customdata[0]}')}<br>{tr('true: {label}', label='%{customdata[1]}')}"
            + (f"<br>{tr('predicted: {label}', label='%{customdata[2]}')}" if preds is not None else "")
            + "<extra></extra>"
        )
        fig.add_trace(
            go.Scattergl(
                x=xy[m, 0],
                y=xy[m, 1],
                mode="markers",
                name=f"{as_text(name)} ({count:,})",
                marker=dict(color=colour, size=5, line=dict(width=0.3, color="rgba(0,0,0,0.3)")),
                customdata=custom,
                hovertemplate=hover,
            )
        )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=10, b=10), plot_bgcolor="white", legend=dict(orientation="h", y=-0.05)
    )
    return fig


_TEMPLATE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><style>
body{margin:0;font:13px system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans","PingFang SC","Microsoft YaHei",sans-serif;
color:#1f2937;background:#fff}
#legend{display:flex;flex-wrap:wrap;gap:4px 10px;padding:2px 0 6px}
.lg{border:0;background:none;cursor:pointer;font:inherit;color:inherit;padding:1px 2px;display:flex;align-items:center;gap:4px}
.lg.off{opacity:.35}.sw{width:11px;height:11px;border-radius:50%;display:inline-block}.n{color:#6b7280}
#wrap{position:relative;border:1px solid #e5e7eb;border-radius:6px;overflow:hidden}
canvas#c{display:block;width:100%;height:%%HEIGHT%%px;cursor:crosshair}
#tip{position:absolute;display:none;pointer-events:none;background:#fff;border:1px solid #d1d5db;border-radius:6px;
box-shadow:0 2px 8px rgba(0,0,0,.15);padding:6px;line-height:1.45;white-space:nowrap}
#tip canvas{display:block;width:84px;height:84px;image-rendering:pixelated;border:1px solid #e5e7eb;margin-bottom:4px}
#hint{color:#6b7280;font-size:12px;padding-top:4px}
</style></head><body>
<div id="legend">%%LEGEND%%</div>
<div id="wrap"><canvas id="c"></canvas><div id="tip"><canvas id="tc" width="28" height="28"></canvas>
<div id="t1"></div><div id="t2"></div><div id="t3"></div></div></div>
<div id="hint">%%HINT%%</div>
<script>
(function(){
const D=%%DATA%%;
const N=D.x.length, sprite=new Image();
const cv=document.getElementById("c"), ctx=cv.getContext("2d"), tip=document.getElementById("tip");
const tc=document.getElementById("tc"), tctx=tc.getContext("2d");
tc.width=D.w; tc.height=D.h;
const hidden=new Set(); let view={s:1,tx:0,ty:0}, hover=-1, drag=null, W=0, H=0;
function fill(t,k,v){return t.split(k).join(v);}
function px(i){const m=Math.min(W,H)*0.92, ox=(W-m)/2, oy=(H-m)/2;
  return [(ox+(D.x[i]/10000)*m)*view.s+view.tx, (oy+(1-D.y[i]/10000)*m)*view.s+view.ty];}
function size(){const r=cv.getBoundingClientRect(), d=window.devicePixelRatio||1; W=r.width; H=r.height;
  cv.width=Math.round(W*d); cv.height=Math.round(H*d); ctx.setTransform(d,0,0,d,0,0); draw();}
function draw(){ctx.clearRect(0,0,W,H);
  const order=[]; for(let i=0;i<N;i++) if(!hidden.has(D.g[i])) order.push(i);
  if(D.top!==null) order.sort((a,b)=>(D.g[a]===D.top)-(D.g[b]===D.top));  // the smaller of right/wrong on top
  ctx.lineWidth=0.6; ctx.strokeStyle="rgba(0,0,0,0.35)";
  for(const i of order){const [x,y]=px(i); if(x<-5||y<-5||x>W+5||y>H+5) continue;
    ctx.beginPath(); ctx.arc(x,y,D.r,0,6.2832); ctx.fillStyle=D.colours[D.g[i]]; ctx.fill(); ctx.stroke();}
  if(hover>=0){const [x,y]=px(hover); ctx.beginPath(); ctx.arc(x,y,D.r+4,0,6.2832); ctx.lineWidth=2;
    ctx.strokeStyle="#111"; ctx.stroke();}}
function nearest(mx,my){let best=-1, bd=144;
  for(let i=0;i<N;i++){if(hidden.has(D.g[i])) continue; const [x,y]=px(i), d=(x-mx)*(x-mx)+(y-my)*(y-my);
    if(d<bd){bd=d; best=i;}} return best;}
function show(i,mx,my){if(i<0){tip.style.display="none"; return;}
  const c=i%D.cols, r=Math.floor(i/D.cols);
  tctx.clearRect(0,0,D.w,D.h); tctx.drawImage(sprite,c*D.w,r*D.h,D.w,D.h,0,0,D.w,D.h);
  document.getElementById("t1").textContent=fill(D.text.true,"{label}",D.names[D.l[i]]??String(D.l[i]));
  const t2=document.getElementById("t2");
  if(D.p){const ok=D.p[i]===D.l[i]; t2.textContent=fill(D.text.pred,"{label}",D.names[D.p[i]]??String(D.p[i]))
    +" \\u00b7 "+(ok?D.text.right:D.text.wrong); t2.style.color=ok?"#0072B2":"#D55E00";} else t2.textContent="";
  document.getElementById("t3").textContent=fill(D.text.index,"{index}",String(D.i[i]));
  tip.style.display="block"; const tw=tip.offsetWidth, th=tip.offsetHeight;
  tip.style.left=(mx+16+tw>W? mx-16-tw : mx+16)+"px"; tip.style.top=Math.max(0,Math.min(H-th,my-th/2))+"px";}
function pos(e){const r=cv.getBoundingClientRect(); return [e.clientX-r.left,e.clientY-r.top];}
cv.addEventListener("mousemove",e=>{const [mx,my]=pos(e);
  if(drag){view.tx=drag.tx+mx-drag.x; view.ty=drag.ty+my-drag.y; draw(); return;}
  const i=nearest(mx,my); if(i!==hover){hover=i; draw();} show(i,mx,my);
  if(%%CLICKABLE%%) cv.style.cursor=i>=0?"pointer":"crosshair";});
cv.addEventListener("mouseleave",()=>{hover=-1; drag=null; tip.style.display="none"; draw();});
cv.addEventListener("mousedown",e=>{const [x,y]=pos(e); drag={x:x,y:y,tx:view.tx,ty:view.ty}; tip.style.display="none";});
window.addEventListener("mouseup",()=>{drag=null;});
cv.addEventListener("wheel",e=>{e.preventDefault(); const [mx,my]=pos(e), f=Math.exp(-e.deltaY*0.0015);
  const s=Math.min(50,Math.max(0.5,view.s*f)), k=s/view.s;
  view.tx=mx-(mx-view.tx)*k; view.ty=my-(my-view.ty)*k; view.s=s; draw();},{passive:false});
cv.addEventListener("dblclick",()=>{view={s:1,tx:0,ty:0}; draw();});
let down=null; cv.addEventListener("pointerdown",e=>{down=pos(e);});
cv.addEventListener("click",e=>{const [mx,my]=pos(e);
  if(!%%CLICKABLE%% || (down && Math.hypot(mx-down[0],my-down[1])>4)) return;
  const i=nearest(mx,my); if(i>=0 && window.parent!==window) window.parent.postMessage({dlvizOpen:D.i[i]},"*");});
for(const b of document.querySelectorAll(".lg")) b.addEventListener("click",()=>{const g=+b.dataset.g;
  if(hidden.has(g)) hidden.delete(g); else hidden.add(g); b.classList.toggle("off"); draw();});
window.addEventListener("resize",size);
sprite.onload=draw; sprite.src="data:image/png;base64,%%SPRITE%%";
size();
})();
</script></body></html>
"""
