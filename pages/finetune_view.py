"""Fine-tuning on the room's handwriting, as the pages show it: Inspect's form (which drawings,
how many are held out, epochs, "Fine-tune a copy") and a fine-tuned copy's before/after table
(Inspect, and the Train page when the job is done). The work is the library's
(:mod:`digitlab.finetune`); this module only draws it. See docs/architecture.md, "Fine-tuning
on the room's handwriting"."""
import streamlit as st

from digitlab import errors, finetune, models, store, texts
from pages.common import error_text, failure_text, lang, md, page_params, t, worker
from pages.workshop import enabled, is_instructor, owner_label, participant, room


def _whose() -> str | None:
    """Whose drawings to fine-tune on: a participant in workshop mode picks their own or the class's
    (None: everyone's, as for the instructor and in single-user mode, where drawings have no owner)."""
    me = participant() if enabled() and not is_instructor() else None
    if me is None:
        return None
    r = room()
    n_mine, n_all = sum(r.counts_per_digit(me)), sum(r.counts_per_digit(None))
    words = {"mine": t("finetune.whose.mine", n=n_mine), "class": t("finetune.whose.class", n=n_all)}
    pick = st.radio(t("finetune.whose"), list(words), format_func=words.get, horizontal=True, key="ft_whose")
    return me if pick == "mine" else None


def _submit(base: str, drawings, owner, epochs: int) -> str | None:
    """Queue the job; its id, or None after showing why not (worded as the Train page's Start)."""
    try:
        return finetune.submit(worker(), base, drawings, owner=participant(), drawings_of=owner, epochs=epochs,
                               instructor=is_instructor())
    except PermissionError as e:  # workshop mode: paused, or this person's job is still on
        st.error(error_text(e))
    except (models.ConfigError, store.StoreError) as e:
        st.error(t("train.bad_config", msg=error_text(e)))
    except errors.DigitLabError as e:  # too few drawings meanwhile, over the room's budget (it says what fits)
        st.error(error_text(e))
    except Exception as e:  # noqa: BLE001 - e.g. the worker cannot start: the reason, not a traceback
        st.error(failure_text(e))
    return None


def finetune_form(name: str, meta: dict) -> None:
    """The "Fine-tune on our handwriting" form for the stored model ``name`` (inside an expander
    the user opened: nothing is read before). Queues the job and goes to the Train page to follow it."""
    st.markdown(t("finetune.intro", mix=texts.number(lang(), finetune.MIX_IMAGES)))
    owner = _whose()
    drawings = room().drawings_dataset(owner)
    pv = finetune.preview(meta, drawings)
    st.markdown(t("finetune.counts", usable=pv["usable"], train=pv["train"], heldout=pv["heldout"]))
    if pv["digits"] == "0, 1":
        st.caption(t("finetune.binary_note"))
    if not pv["enough"]:
        st.info(t("finetune.too_few", **{k: pv[k] for k in ("train", "heldout", "need_train", "need_heldout", "digits")}))
        st.page_link("pages/draw.py", label=t("finetune.go_draw"), icon=":material/draw:", query_params=page_params())
        return
    lo, hi = pv["epochs_range"]
    epochs = st.number_input(t(f"finetune.{pv['epochs_field']}"), lo, hi, pv["epochs"], key=f"ft_epochs_{name}",
                             help=t("finetune.epochs_help", factor=texts.number(lang(), finetune.LR_FACTOR, 1)))
    if st.button(t("finetune.start"), type="primary", icon=":material/tune:", key="ft_start"):
        jid = _submit(name, drawings, owner, int(epochs))
        if jid is not None:
            st.session_state["train_job"] = jid
            st.switch_page("pages/train.py", query_params=page_params(job=jid))


def _points(lang_: str, change) -> str:
    if change is None:
        return "–"
    sign = "+" if change > 0.05 else ("−" if change < -0.05 else "±")
    return texts.text(lang_, "finetune.points", sign=sign, v=texts.number(lang_, abs(change), 1))


def _whose_text(ft: dict) -> str:
    owner = ft.get("owner")
    if owner is None:
        return t("finetune.whose_class") if enabled() else t("finetune.whose_all")
    return t("finetune.whose_one", owner=md(owner_label(owner)))


def finetune_result(meta: dict) -> None:
    """A fine-tuned copy's before/after table (nothing for a model that is not one)."""
    rows = finetune.report(meta)
    if not rows:
        return
    ft, la = meta["finetune"], lang()
    st.markdown(f"**{t('finetune.result_title')}**")
    st.caption(t("finetune.from", base=md(ft.get("base")), n=ft.get("n_drawings"), whose=_whose_text(ft),
                 repeat=ft.get("repeat"), mix=texts.number(la, ft.get("mix_images"))))
    cols = [t(f"finetune.col.{c}") for c in ("set", "before", "after", "change")]
    table = [{cols[0]: t(f"finetune.set.{r['set']}", n=r["n"]), cols[1]: texts.percent(la, r["before"], 1),
              cols[2]: texts.percent(la, r["after"], 1), cols[3]: _points(la, r["change"])} for r in rows]
    st.table(table, hide_index=True, border="horizontal")
    held = rows[0]["n"] or 0
    if 0 < held < 20:  # a small held-out set: say how coarse its figure is
        st.caption(t("finetune.few_heldout", n=held, step=_points(la, 100.0 / held).lstrip("+")))
    if rows[1]["after"] is None:
        st.caption(t("finetune.no_test"))
