"""Learn page: the tutorial's sections 1 (what a neural network is) and 4 (CNNs), made
interactive. Each section: short text, a small figure, and the real digitlab code.
Each section is a fragment, so moving a slider reruns only its section."""
import functools
import importlib
import inspect

import numpy as np
import streamlit as st

from digitlab import learn as L
from digitlab import texts
from digitlab.nn.activations import softmax as softmax_rows
from pages.common import current_dataset, lang, t

CFG = {"displayModeBar": False}


def chart(fig) -> None:
    st.plotly_chart(fig, width="stretch", config=CFG)


def safe(fn):
    """Run a section; an error shows its reason, never a traceback."""
    @functools.wraps(fn)
    def run(*args, **kw):
        try:
            return fn(*args, **kw)
        except Exception as e:  # noqa: BLE001 (st.rerun/st.stop are BaseExceptions and pass through)
            st.error(t("common.error", msg=f"{type(e).__name__}: {e}"))
    return run


@st.cache_data(show_spinner=False)
def source(ref: str) -> str:
    """Source of 'module:Qual.name' (the real function, read with inspect.getsource)."""
    mod, _, qual = ref.partition(":")
    obj = importlib.import_module(mod)
    for part in qual.split("."):
        obj = getattr(obj, part)
    return inspect.getsource(obj)


def show_code(*refs: str, note: str | None = None) -> None:
    """The source of each ref in an expander, under an optional note (a text key)."""
    with st.expander(t("learn.code")):
        if note:
            st.caption(t(note))
        for ref in refs:
            st.caption(f"`{ref.replace(':', '.')}`")
            try:
                st.code(source(ref), language="python")
            except Exception as e:  # noqa: BLE001
                st.error(t("learn.code_missing", name=ref, msg=str(e)))


def head(key: str) -> None:
    st.header(t(f"learn.{key}.title"), divider="gray")
    st.markdown(t(f"learn.{key}.body"))


def choice(container, label: str, options: list, prefix: str, key: str, index: int = 0):
    """A selectbox whose option labels are the texts ``prefix + option``. A selectbox keeps
    the *label* text as its state, which a language switch would orphan; so the widget
    key carries the language and the choice itself is kept, language-free, under ``key``."""
    lng = lang()
    cur = st.session_state.get(key, options[index])
    v = container.selectbox(label, options, index=options.index(cur) if cur in options else index,
                            format_func=lambda o: texts.text(lng, f"{prefix}{o}"), key=f"{key}_{lng}")
    st.session_state[key] = v
    return v


def sl(label_key: str, key: str, lo: float, hi: float, value: float, step: float = 0.1):
    return st.slider(t(label_key), lo, hi, value, step, key=key)


# ------------------------------------------------------------------ 1. the neuron


@st.fragment
@safe
def neuron():
    head("neuron")
    st.latex(r"z = w_1 x_1 + w_2 x_2 + b \qquad a = g(z)")
    left, right = st.columns([2, 3], gap="medium")
    with left:
        x1 = sl("learn.neuron.x1", "learn_n_x1", -3.0, 3.0, 1.0)
        x2 = sl("learn.neuron.x2", "learn_n_x2", -3.0, 3.0, -0.5)
        w1 = sl("learn.neuron.w1", "learn_n_w1", -3.0, 3.0, 1.5)
        w2 = sl("learn.neuron.w2", "learn_n_w2", -3.0, 3.0, 0.8)
        b = sl("learn.neuron.b", "learn_n_b", -3.0, 3.0, -0.2)
        g = st.selectbox(t("learn.neuron.g"), L.ACTS, key="learn_n_g")
    z, a = L.neuron([x1, x2], [w1, w2], b, g)
    with right:
        m1, m2 = st.columns(2)
        m1.metric(t("learn.neuron.z"), f"{z:.3f}")
        m2.metric(t("learn.neuron.a"), f"{a:.3f}")
        chart(L.neuron_figure([w1, w2], b, g, [x1, x2], t("learn.neuron.fig"), "x₁", "x₂"))
    st.caption(t("learn.neuron.note"))
    show_code("digitlab.learn:neuron")


# ------------------------------------------------------------------ 2. activations


@st.fragment
@safe
def activations():
    head("act")
    st.latex(r"\begin{gathered} \sigma(z) = \frac{1}{1+e^{-z}},\quad \sigma' = \sigma(1-\sigma) \\ "
             r"\tanh'(z) = 1-\tanh^2 z \\ \mathrm{relu}(z) = \max(0, z),\quad \mathrm{relu}' = [z>0]"
             r"\end{gathered}")
    lim = st.slider(t("learn.act.range"), 2, 20, 6, key="learn_act_range")
    chart(L.activation_figure(L.ACTS, t("learn.act.fig"), "z", t("learn.act.y"), t("learn.act.deriv"), -lim, lim))
    st.warning(t("learn.act.pixels"))
    show_code("digitlab.nn.activations:sigmoid", "digitlab.nn.activations:d_sigmoid", "digitlab.nn.activations:tanh",
              "digitlab.nn.activations:d_tanh", "digitlab.nn.activations:relu", "digitlab.nn.activations:d_relu",
              "digitlab.tutorial_binary:sigmoid")


# ------------------------------------------------------------------ 3. forward propagation


def _mat(M, fmt: str = ".2f") -> str:
    return r"\begin{bmatrix}" + r"\\".join(" & ".join(format(float(x), fmt) for x in row) for row in M) + r"\end{bmatrix}"


def _col(v) -> str:
    return r"\begin{bmatrix}" + r"\\".join(f"{float(x):.2f}" for x in np.ravel(v)) + r"\end{bmatrix}"


@st.fragment
@safe
def forward():
    from digitlab import tutorial_binary

    head("fwd")
    st.latex(r"\begin{gathered} Z^{[1]} = W^{[1]} X + b^{[1]},\quad A^{[1]} = g(Z^{[1]}) \\ "
             r"Z^{[2]} = W^{[2]} A^{[1]} + b^{[2]},\quad A^{[2]} = \sigma(Z^{[2]}) \end{gathered}")
    st.caption(t("learn.fwd.shapes"))
    x1 = sl("learn.fwd.x1", "learn_f_x1", -3.0, 3.0, 1.0)
    x2 = sl("learn.fwd.x2", "learn_f_x2", -3.0, 3.0, 0.5)
    params = L.forward_net()
    X = np.array([[x1], [x2]])
    acts = tutorial_binary.forward_propagation(X, params)
    chart(L.network_figure(params, X, acts, t("learn.fwd.fig"), t("learn.fwd.in"), t("learn.fwd.hid"),
                           t("learn.fwd.out")))
    st.caption(t("learn.fwd.edges"))
    st.latex(r"\begin{gathered} Z^{[1]} = " + _col(acts["Z1"]) + r"\quad A^{[1]} = " + _col(acts["A1"])
             + r"\\ Z^{[2]} = " + _col(acts["Z2"]) + r"\quad A^{[2]} = " + _col(acts["A2"]) + r"\end{gathered}")
    st.metric(t("learn.fwd.p"), f"{float(acts['A2'][0, 0]):.3f}")
    show_code("digitlab.tutorial_binary:forward_propagation")


# ------------------------------------------------------------------ 4. error and cost


@st.fragment
@safe
def cost():
    head("cost")
    st.latex(r"\begin{gathered} \mathcal{L}(y, p) = -\left[y \log p + (1-y)\log(1-p)\right] \\ "
             r"J = \frac{1}{m}\sum_{i=1}^{m} \mathcal{L}(y_i, p_i) \end{gathered}")
    y = st.radio(t("learn.cost.y"), [1, 0], horizontal=True, key="learn_c_y")
    p = st.slider(t("learn.cost.p"), 0.01, 0.99, 0.8, 0.01, key="learn_c_p")
    m1, m2 = st.columns(2)
    m1.metric(t("learn.cost.naive"), f"{y - p:+.2f}")
    m2.metric(t("learn.cost.log"), f"{L.log_loss(p, y):.3f}")
    chart(L.log_loss_figure(p, y, t("learn.cost.fig"), t("learn.cost.p"), t("learn.cost.loss")))
    two = L.log_loss(0.1, 1) / 2 + L.log_loss(0.9, 0) / 2
    st.info(t("learn.cost.cancel", j=f"{two:.2f}"))
    show_code("digitlab.nn.losses:binary_cross_entropy", "digitlab.tutorial_binary:compute_error")


# ------------------------------------------------------------------ 5. backpropagation and gradient descent

PROBLEMS = ["moons", "circles", "xor"]


def _gd_state(kind: str, n_h: int) -> dict:
    s = st.session_state.get("learn_gd")
    if s is None or s["cfg"] != (kind, n_h):
        X, Y = L.toy_data(kind)
        s = {"cfg": (kind, n_h), "X": X, "Y": Y, "params": L.toy_params(n_h), "costs": [], "steps": 0}
        st.session_state["learn_gd"] = s
    return s


@st.fragment
@safe
def gradient_descent():
    head("gd")
    st.latex(r"\begin{gathered} dZ^{[2]} = A^{[2]} - Y,\quad dW^{[2]} = \tfrac{1}{m} dZ^{[2]} A^{[1]T} \\ "
             r"dZ^{[1]} = W^{[2]T} dZ^{[2]} \odot A^{[1]}(1-A^{[1]}) \\ dW^{[1]} = \tfrac{1}{m} dZ^{[1]} X^T \\ "
             r"W \leftarrow W - \alpha\, dW,\quad b \leftarrow b - \alpha\, db \end{gathered}")
    c1, c2 = st.columns(2)
    kind = choice(c1, t("learn.gd.problem"), PROBLEMS, "learn.gd.p.", "learn_gd_kind")
    n_h = c2.slider(t("learn.gd.hidden"), 2, 16, 6, key="learn_gd_nh")
    c3, c4 = st.columns(2)
    lr = c3.select_slider(t("learn.gd.lr"), [0.1, 0.3, 1.0, 1.2, 3.0], value=1.2, key="learn_gd_lr")
    bug = c4.toggle(t("learn.gd.bug"), key="learn_gd_bug", help=t("learn.gd.bug_help"))
    s = _gd_state(kind, n_h)
    b = st.columns(4)
    n = 1 if b[0].button(t("learn.gd.step1"), key="learn_gd_s1") else 0
    n = 10 if b[1].button(t("learn.gd.step10"), key="learn_gd_s10") else n
    n = 100 if b[2].button(t("learn.gd.step100"), key="learn_gd_s100", type="primary") else n
    if b[3].button(t("learn.gd.reset"), key="learn_gd_reset"):
        st.session_state.pop("learn_gd", None)
        s = _gd_state(kind, n_h)
    if n:
        s["params"], costs = L.gd_steps(s["params"], s["X"], s["Y"], n, lr, fixed=not bug)
        s["costs"] += costs
        s["steps"] += n
    J, acc = L.toy_cost(s["params"], s["X"], s["Y"])
    m = st.columns(3)
    m[0].metric(t("learn.gd.steps"), f"{s['steps']}")
    m[1].metric(t("learn.gd.cost"), f"{J:.4f}")
    m[2].metric(t("learn.gd.acc"), f"{100 * acc:.1f}%")
    chart(L.boundary_figure(s["params"], s["X"], s["Y"], t("learn.gd.fig", n=s["steps"]), "x₁", "x₂"))
    st.caption(t("learn.gd.colour"))
    chart(L.cost_figure(s["costs"] + [J], t("learn.gd.curve"), t("learn.gd.steps"), t("learn.gd.cost_axis")))
    st.warning(t("learn.gd.bug_note"))
    show_code("digitlab.tutorial_binary:backward_propagation", "digitlab.tutorial_binary:update_parameters",
              "digitlab.learn:gd_steps")


# ------------------------------------------------------------------ 6-8. convolution, stride, pooling


def _pick_digit():
    ds = current_dataset()
    if len(ds) == 0:
        raise ValueError(t("learn.conv.empty"))
    c1, c2 = st.columns(2)
    if ds.has_labels:
        d = c1.selectbox(t("learn.conv.digit"), list(range(10)), index=7, key="learn_conv_digit")
        idx = np.flatnonzero(ds.labels == d)
        if len(idx) == 0:
            raise ValueError(t("learn.conv.no_class", d=d))
        k = c2.number_input(t("learn.conv.nth", n=len(idx) - 1), 0, len(idx) - 1, 0, key="learn_conv_nth")
        i = int(idx[min(int(k), len(idx) - 1)])
    else:
        i = int(c1.number_input(t("learn.conv.index", n=len(ds) - 1), 0, len(ds) - 1, 0, key="learn_conv_index"))
    return ds.images[i].astype(np.float64) / 255.0


def _kernel():
    import pandas as pd

    c1, c2 = st.columns([1, 1])
    preset = choice(c1, t("learn.conv.kernel"), list(L.KERNELS), "learn.k.", "learn_conv_preset")
    with c2:
        st.caption(t("learn.conv.edit"))
        df = pd.DataFrame(np.round(np.array(L.KERNELS[preset], float), 3), columns=["1", "2", "3"])
        ed = st.data_editor(df, key=f"learn_kernel_{preset}", hide_index=True, width="stretch",
                            column_config={c: st.column_config.NumberColumn(c, step=0.1, format="%.2f")
                                           for c in df.columns})
    K = np.nan_to_num(np.asarray(ed, dtype=np.float64))
    if K.shape != (3, 3):
        raise ValueError(t("learn.conv.bad_kernel"))
    return K


@st.fragment
@safe
def cnn():
    st.header(t("learn.cnn.title"), divider="gray")
    st.markdown(t("learn.cnn.body"))

    head("conv")
    st.latex(r"O_{r,c} = \sum_{i=0}^{2}\sum_{j=0}^{2} I_{rs+i,\ cs+j}\, K_{i,j} + b")
    img = _pick_digit()
    K = _kernel()
    stride = st.select_slider(t("learn.conv.stride"), [1, 2, 3], value=1, key="learn_conv_stride")
    out = L.conv2d(img, K, stride)
    Ho, Wo = out.shape
    last = Ho * Wo - 1
    pos = st.session_state.get("learn_conv_pos")
    # first visit: where the kernel responds most; after a stride change: kept inside the new map
    st.session_state["learn_conv_pos"] = int(np.argmax(np.abs(out))) if pos is None else min(int(pos), last)
    k = st.slider(t("learn.conv.pos", n=last), 0, last, key="learn_conv_pos")
    r, c, i0, j0 = L.conv_position(k, Wo, stride)
    chart(L.conv_figure(img, out, k, stride, 3, [t("learn.conv.in"), t("learn.conv.out", h=Ho, w=Wo)],
                        t("learn.conv.fig")))
    patch = img[i0:i0 + 3, j0:j0 + 3]
    st.markdown(t("learn.conv.value", r=r, c=c, i=i0, j=j0, v=f"{out[r, c]:.3f}"))
    st.latex(r"\begin{gathered} \sum " + _mat(patch, ".1f") + r"\odot" + _mat(np.round(K, 2), "g") + r"\\ = "
             + f"{float((patch * K).sum()):.3f}" + r"\end{gathered}")
    show_code("digitlab.nn.reference:conv2d_forward", "digitlab.nn.reference:conv2d_backward", "digitlab.learn:conv2d",
              note="learn.code_reference")

    head("stride")
    st.latex(r"n_{out} = \left\lfloor \frac{n_{in} + 2p - k}{s} \right\rfloor + 1")
    maps = [L.conv2d(img, K, s) for s in (1, 2, 3)]
    chart(L.maps_figure(maps, [t("learn.stride.map", s=s, h=m.shape[0], w=m.shape[1]) for s, m in zip((1, 2, 3), maps)],
                        t("learn.stride.fig"), height=260))
    show_code("digitlab.learn:out_size", "digitlab.nn.reference:same_padding", "digitlab.nn.reference:pad")

    head("pool")
    size = st.select_slider(t("learn.pool.size"), [2, 3, 4], value=2, key="learn_pool_size")
    relu = np.maximum(L.conv2d(img, K, 1), 0)
    pooled = L.max_pool(relu, size)
    chart(L.maps_figure([relu, pooled], [t("learn.pool.before", h=relu.shape[0], w=relu.shape[1]),
                                         t("learn.pool.after", h=pooled.shape[0], w=pooled.shape[1])],
                        t("learn.pool.fig"), height=300, diverging=False))
    show_code("digitlab.nn.reference:maxpool2d_forward", "digitlab.nn.reference:maxpool2d_backward",
              note="learn.code_reference")


# ------------------------------------------------------------------ 9. softmax


@st.fragment
@safe
def softmax():
    head("soft")
    st.latex(r"p_k = \frac{e^{z_k}}{\sum_{j} e^{z_j}}")
    defaults = [2.0, 0.5, -1.0, 1.0]
    logits = []
    for i in range(0, len(defaults), 2):  # rows of two: on a phone they stack in order 0, 1, 2, 3
        cols = st.columns(2)
        logits += [cols[j].slider(t("learn.soft.z", k=i + j), -5.0, 5.0, defaults[i + j], 0.1, key=f"learn_s_z{i + j}")
                   for j in range(2)]
    p = softmax_rows(np.array([logits]))[0]
    st.metric(t("learn.soft.top", k=int(np.argmax(p))), f"{100 * p.max():.1f}%")
    chart(L.softmax_figure(logits, t("learn.soft.fig"), t("learn.soft.class"), t("learn.soft.prob")))
    show_code("digitlab.nn.activations:softmax", "digitlab.nn.reference:cross_entropy",
              "digitlab.nn.reference:softmax_cross_entropy_backward")


# ------------------------------------------------------------------ 10. batch size


SIZES = [1, 4, 16, 64, 256]


@st.cache_data(show_spinner=False)
def _spreads(seed: int):
    X, y = L.batch_data()
    return L.spread_by_batch_size(X, y, SIZES, seed=seed)


@st.fragment
@safe
def batches():
    head("batch")
    st.latex(r"\begin{gathered} g_B = \frac{1}{|B|} \sum_{i \in B} \nabla_w \mathcal{L}(x_i, y_i) \\ "
             r"\mathrm{std}(g_B) \propto \frac{1}{\sqrt{|B|}} \end{gathered}")
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    bs = c1.select_slider(t("learn.batch.size"), SIZES, value=16, key="learn_b_size")
    if c2.button(t("learn.batch.again"), key="learn_b_again"):
        st.session_state["learn_b_seed"] = st.session_state.get("learn_b_seed", 0) + 1
    seed = st.session_state.get("learn_b_seed", 0)
    X, y = L.batch_data()
    full, g = L.minibatch_gradients(X, y, bs, 40, seed=seed)
    spread = L.angle_spread(full, g)
    st.metric(t("learn.batch.spread"), f"{spread:.1f}°")
    chart(L.arrows_figure(full, g, t("learn.batch.fig", b=bs, n=len(X)), "∂J/∂w₁", "∂J/∂w₂",
                          t("learn.batch.full"), t("learn.batch.mini")))
    chart(L.spread_figure(SIZES, _spreads(seed), t("learn.batch.spread_fig"), t("learn.batch.size_axis"),
                          t("learn.batch.spread_axis")))
    show_code("digitlab.learn:logistic_gradient", "digitlab.nn.losses:output_delta", "digitlab.learn:minibatch_gradients")


# ------------------------------------------------------------------ the page

st.title(t("learn.title"))
st.markdown(t("learn.intro"))
neuron()
activations()
forward()
cost()
gradient_descent()
cnn()
softmax()
batches()
st.divider()
st.caption(t("learn.outro"))
