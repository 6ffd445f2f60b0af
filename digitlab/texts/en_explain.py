"""English texts of the explanations (issue 17): the one-line readings of a saliency map and of
an adversarial nudge (:mod:`digitlab.saliency`, :mod:`digitlab.adversarial`) and the embedding
map's labels (:mod:`digitlab.embedding`). ``reading_text`` / ``nudge_text`` fill them."""
T = {
    # saliency: where the push towards the answer came from (saliency.reading)
    "explain.reading.towards": "{region} of the ink pushed the answer towards {digit} ({share} of the push).",
    "explain.reading.flat": (
        "Nothing in the drawing moves the answer {digit}: the model's output hardly changes with the pixels "
        "(it is saturated)."),
    "explain.reading.no_ink": "There is no ink to explain.",
    "explain.region.top": "The top third",
    "explain.region.bottom": "The bottom third",
    "explain.region.left": "The left third",
    "explain.region.right": "The right third",
    "explain.region.centre": "The centre",
    # adversarial nudge (adversarial.Nudge.reading)
    "explain.nudge.changed": "{steps} small steps (largest pixel change {linf}) turned {original} into {digit}.",
    "explain.nudge.reached": "{steps} small steps (largest pixel change {linf}) turned {original} into the target {digit}.",
    "explain.nudge.unchanged": "No change within ±{eps} per pixel after {steps} steps: still {original}.",
    # the embedding map (embedding.embedding_figure)
    "explain.map.title": "{model}: its last hidden layer, {method}",
    "explain.map.digit": "digit {digit}",
    "explain.map.drawing": "your drawing",
    "explain.map.hover": "digit {digit} · image #{index}",
    "explain.map.pca": "PCA",
    "explain.map.tsne": "t-SNE",
    # the pages' "Why?" views (pages/explain_view.py: Draw and Inspect)
    "why.title": "Why? The pixels behind each answer, a nudge that changes it, a map",
    "why.inspect_title": "Why? Which pixels made this answer",
    "why.tab.pixels": "Which pixels",
    "why.tab.nudge": "Nudge",
    "why.tab.map": "Map",
    "why.explain_digit": "Explain the probability of",
    "why.own_answer": "each model's own answer",
    "why.digit_option": "the digit {digit}",
    "why.show": "Show",
    "why.caption.gradient": (
        "**∂p/∂x**: where a little more ink would raise the probability of {what} (red) or lower it (blue); "
        "clear: no effect. The faint grey is the digit."),
    "why.caption.times_input": (
        "**gradient × input**: what the ink that is there did: red ink pushed the model towards {what}, blue ink "
        "pushed it away. The faint grey is the digit."),
    "why.caption.cam": (
        "**Grad-CAM**: where the feature maps of the last convolution that matter for {what} fire (red: strongly). "
        "Only networks with convolutions have one."),
    "why.no_cam": "No convolution in this model: no Grad-CAM.",
    "why.what_answer": "its answer",
    "why.what_digit": "a {digit}",
    "why.panel.gradient": "∂p/∂x",
    "why.panel.times_input": "gradient × input",
    "why.panel.cam": "Grad-CAM (CNNs)",
    "why.hover": "row %{y}, column %{x}: %{z:.3g}",
    "why.head": "**{name}** answers **{answer}** ({p})",
    "why.head_digit": "**{name}** answers **{answer}**; the probability of {digit}: {p}",
    "why.first_models": "The first {k} of {n} models.",
    "why.all_models": "Compare with every model",
    "why.nudge.intro": (
        "Small signed-gradient steps (FGSM, repeated) move every pixel by at most ±eps until the answer changes. "
        "The smaller the change a model needs, the easier it is to fool."),
    "why.nudge.step": "Step per pixel",
    "why.nudge.eps": "Largest change per pixel (L∞ bound, eps)",
    "why.nudge.target": "Towards",
    "why.nudge.any": "any other digit",
    "why.nudge.button": "Nudge",
    "why.nudge.press": "Press **Nudge**: for every model, the search for a small change of this drawing that changes its answer.",
    "why.nudge.running": "Nudging (up to about a second per model)…",
    "why.nudge.already": "{name} already answers {digit}: choose another digit to nudge it towards.",
    "why.nudge.new_answer": "{name}: new answer",
    "why.nudge.size": "L∞ {linf} · {steps} steps",
    "why.nudge.nudged": "nudged: {digit}",
    "why.nudge.difference": "change, amplified",
    "why.nudge.caption": (
        "The difference is amplified: full red (ink added) or blue (ink removed) is the largest change made, "
        "on pixels that go from 0 (paper) to 1 (ink)."),
    "why.map.model": "Model to map",
    "why.map.method": "Projection",
    "why.map.intro": (
        "Each point is one of {n} digits of {source}, placed by {model}'s last hidden layer ({h} numbers) flattened "
        "to 2-D, coloured by its true digit; your drawing is the star. Click a point to see that digit."),
    "why.map.wait_pca": "Mapping {n} digits (a few seconds the first time for this model)…",
    "why.map.wait_tsne": "t-SNE of {n} digits: about {s} s, once per model (then it is instant)…",
    "why.map.tsne_note": (
        "t-SNE keeps neighbours together but has no formula for a new point: the star sits at the mean of "
        "your drawing's 5 nearest digits."),
    "why.map.clicked": "Digit #{index}: labelled {label}; {name} answers {answer}",
    "why.map.click_hint": "Click a point of the map: its digit appears here.",
    "why.map.ring": "clicked digit",
    "why.map.no_drawing": "Draw a digit to see where it lands on the map.",
    "why.map.source_test": "the official MNIST test set",
    "why.map.source_sample": "the bundled sample's validation part",
    "why.mistake_title": "Why? One of these mistakes, pixel by pixel",
    "why.mistake_pick": "Mistake number (1: the most confident of {n})",
    # fine-tuning a copy on the room's handwriting (pages/finetune_view.py, digitlab.finetune)
    "finetune.title": "Fine-tune on our handwriting",
    "finetune.intro": (
        "Train a **copy** of this model a little more on saved drawings, mixed with {mix} sample images so that it "
        "keeps reading MNIST. This model is not changed. About a quarter of the drawings are held out (never "
        "trained on): the copy is measured on them, and on the official test set, before and after."),
    "finetune.whose": "Whose drawings",
    "finetune.whose.mine": "Mine ({n})",
    "finetune.whose.class": "The class's ({n})",
    "finetune.counts": "{usable} drawings this model reads: **{train}** to train on, **{heldout}** held out.",
    "finetune.binary_note": "A 0-vs-1 model reads only the drawings of 0 and 1.",
    "finetune.too_few": (
        "Not enough drawings yet: {train} to train on and {heldout} held out; it needs at least {need_train} "
        "and {need_heldout} (digits {digits}). Draw and save some more."),
    "finetune.go_draw": "Draw and save digits",
    "finetune.epochs": "Epochs",
    "finetune.iterations": "Iterations",
    "finetune.epochs_help": "How long the copy trains on. The learning rate is {factor}× this model's.",
    "finetune.start": "Fine-tune a copy",
    "finetune.started": "Fine-tuning job {job} queued: follow it on the Train page.",
    "finetune.follow": "Follow it on the Train page",
    "finetune.job": "Fine-tuning a copy of **{base}** on {n} drawings ({heldout} held out).",
    "finetune.running": "Fine-tuning a copy of {base}",
    "finetune.heldout_curve": "held-out drawings",
    "finetune.m.heldout_acc": "Held-out accuracy",
    "finetune.result_title": "Before and after fine-tuning",
    "finetune.from": (
        "A copy of **{base}** fine-tuned on {n} drawings ({whose}), each repeated {repeat}×, mixed with {mix} sample "
        "images."),
    "finetune.whose_class": "the class's",
    "finetune.whose_one": "{owner}'s",
    "finetune.whose_all": "all saved",
    "finetune.col.set": "Measured on",
    "finetune.col.before": "Before",
    "finetune.col.after": "After",
    "finetune.col.change": "Change",
    "finetune.set.heldout": "held-out drawings ({n})",
    "finetune.set.test": "official test set",
    "finetune.points": "{sign}{v} points",
    "finetune.no_test": "The official test set is not on this server (DIGITLAB_TEST_DATA): forgetting is not measured.",
    "finetune.few_heldout": "Only {n} held-out drawings: one drawing moves the figure by {step}.",
    "finetune.after_draw": "With {n} saved drawings you can fine-tune a model on them (Inspect page).",
    "finetune.go_inspect": "Fine-tune a model on them",
}
