"""Textos en español de las explicaciones (issue 17): ver ``en_explain.py``."""
T = {
    "explain.reading.towards": "{region} del trazo empujó la respuesta hacia el {digit} ({share} del empuje).",
    "explain.reading.flat": (
        "Nada del dibujo mueve la respuesta {digit}: la salida del modelo apenas cambia con los píxeles "
        "(está saturada)."),
    "explain.reading.no_ink": "No hay trazo que explicar.",
    "explain.region.top": "El tercio de arriba",
    "explain.region.bottom": "El tercio de abajo",
    "explain.region.left": "El tercio izquierdo",
    "explain.region.right": "El tercio derecho",
    "explain.region.centre": "El centro",
    "explain.nudge.changed": "{steps} pasos pequeños (el mayor cambio de un píxel: {linf}) convirtieron el {original} en {digit}.",
    "explain.nudge.reached": (
        "{steps} pasos pequeños (el mayor cambio de un píxel: {linf}) convirtieron el {original} en el {digit} buscado."),
    "explain.nudge.unchanged": "Ningún cambio dentro de ±{eps} por píxel tras {steps} pasos: sigue siendo {original}.",
    "explain.map.title": "{model}: su última capa oculta, {method}",
    "explain.map.digit": "dígito {digit}",
    "explain.map.drawing": "tu dibujo",
    "explain.map.hover": "dígito {digit} · imagen n.º {index}",
    "explain.map.pca": "PCA",
    "explain.map.tsne": "t-SNE",
}
