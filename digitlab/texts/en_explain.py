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
}
