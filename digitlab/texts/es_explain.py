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
    # las vistas "¿Por qué?" de las páginas (pages/explain_view.py: Dibujar e Inspeccionar)
    "why.title": "¿Por qué? Los píxeles de cada respuesta, un empujón que la cambia, un mapa",
    "why.inspect_title": "¿Por qué? Qué píxeles dieron esta respuesta",
    "why.tab.pixels": "Qué píxeles",
    "why.tab.nudge": "Empujón",
    "why.tab.map": "Mapa",
    "why.explain_digit": "Explicar la probabilidad de",
    "why.own_answer": "la respuesta de cada modelo",
    "why.digit_option": "el dígito {digit}",
    "why.show": "Mostrar",
    "why.caption.gradient": (
        "**∂p/∂x**: dónde un poco más de trazo haría más probable {what} (rojo) o menos probable (azul); "
        "transparente: sin efecto. El gris tenue es el dígito."),
    "why.caption.times_input": (
        "**gradiente × entrada**: lo que hizo el trazo que hay: el trazo rojo empujó al modelo hacia {what}, el azul "
        "lo alejó. El gris tenue es el dígito."),
    "why.caption.cam": (
        "**Grad-CAM**: dónde se activan los mapas de la última convolución que importan para {what} (rojo: con "
        "fuerza). Solo las redes con convoluciones tienen uno."),
    "why.no_cam": "Este modelo no tiene convoluciones: no hay Grad-CAM.",
    "why.what_answer": "su respuesta",
    "why.what_digit": "el {digit}",
    "why.panel.gradient": "∂p/∂x",
    "why.panel.times_input": "gradiente × entrada",
    "why.panel.cam": "Grad-CAM (CNN)",
    "why.hover": "fila %{y}, columna %{x}: %{z:.3g}",
    "why.head": "**{name}** responde **{answer}** ({p})",
    "why.head_digit": "**{name}** responde **{answer}**; la probabilidad del {digit}: {p}",
    "why.first_models": "Los {k} primeros de {n} modelos.",
    "why.all_models": "Comparar con todos los modelos",
    "why.nudge.intro": (
        "Pasos pequeños en el signo del gradiente (FGSM, repetido) mueven cada píxel como mucho ±eps hasta que la "
        "respuesta cambia. Cuanto menor es el cambio que necesita un modelo, más fácil es engañarlo."),
    "why.nudge.step": "Paso por píxel",
    "why.nudge.eps": "Cambio máximo por píxel (límite L∞, eps)",
    "why.nudge.target": "Hacia",
    "why.nudge.any": "cualquier otro dígito",
    "why.nudge.button": "Empujar",
    "why.nudge.press": "Pulsa **Empujar**: para cada modelo, la búsqueda de un cambio pequeño de este dibujo que cambie su respuesta.",
    "why.nudge.running": "Empujando (hasta un segundo por modelo, más o menos)…",
    "why.nudge.already": "{name} ya responde {digit}: elige otro dígito hacia el que empujarlo.",
    "why.nudge.new_answer": "{name}: nueva respuesta",
    "why.nudge.size": "L∞ {linf} · {steps} pasos",
    "why.nudge.nudged": "empujado: {digit}",
    "why.nudge.difference": "cambio, ampliado",
    "why.nudge.caption": (
        "La diferencia está ampliada: el rojo intenso (trazo añadido) o el azul intenso (trazo quitado) es el mayor "
        "cambio hecho, en píxeles que van de 0 (papel) a 1 (trazo)."),
    "why.map.model": "Modelo del mapa",
    "why.map.method": "Proyección",
    "why.map.intro": (
        "Cada punto es uno de {n} dígitos {source}, situado por la última capa oculta de {model} ({h} números) "
        "aplanada a 2-D y coloreado por su dígito real; tu dibujo es la estrella. Pulsa un punto para ver ese dígito."),
    "why.map.wait_pca": "Situando {n} dígitos (unos segundos la primera vez para este modelo)…",
    "why.map.wait_tsne": "t-SNE de {n} dígitos: unos {s} s, una vez por modelo (luego es instantáneo)…",
    "why.map.tsne_note": (
        "t-SNE mantiene juntos a los vecinos pero no tiene fórmula para un punto nuevo: la estrella está en la media "
        "de los 5 dígitos más cercanos a tu dibujo."),
    "why.map.clicked": "Dígito n.º {index}: etiqueta {label}; {name} responde {answer}",
    "why.map.click_hint": "Pulsa un punto del mapa: su dígito aparece aquí.",
    "why.map.ring": "dígito pulsado",
    "why.map.no_drawing": "Dibuja un dígito para ver dónde cae en el mapa.",
    "why.map.source_test": "del conjunto de prueba oficial de MNIST",
    "why.map.source_sample": "de la parte de validación de la muestra incluida",
    "why.mistake_title": "¿Por qué? Uno de estos errores, píxel a píxel",
    "why.mistake_pick": "Número de error (1: el más seguro de {n})",
    # afinar una copia con la letra de la sala (pages/finetune_view.py, digitlab.finetune)
    "finetune.title": "Afinar con nuestra letra",
    "finetune.intro": (
        "Entrena un poco más una **copia** de este modelo con dibujos guardados, mezclados con {mix} imágenes de la "
        "muestra para que siga leyendo MNIST. Este modelo no cambia. Alrededor de una cuarta parte de los dibujos se "
        "reserva (nunca se entrena con ellos): la copia se mide con ellos, y con el conjunto de prueba oficial, "
        "antes y después."),
    "finetune.whose": "De quién son los dibujos",
    "finetune.whose.mine": "Míos ({n})",
    "finetune.whose.class": "De la clase ({n})",
    "finetune.counts": "{usable} dibujos que este modelo lee: **{train}** para entrenar, **{heldout}** reservados.",
    "finetune.binary_note": "Un modelo de 0 contra 1 solo lee los dibujos de 0 y de 1.",
    "finetune.too_few": (
        "Aún no hay bastantes dibujos: {train} para entrenar y {heldout} reservados; hacen falta al menos "
        "{need_train} y {need_heldout} (dígitos {digits}). Dibuja y guarda algunos más."),
    "finetune.go_draw": "Dibujar y guardar dígitos",
    "finetune.epochs": "Épocas",
    "finetune.iterations": "Iteraciones",
    "finetune.epochs_help": "Cuánto entrena la copia. La tasa de aprendizaje es {factor}× la de este modelo.",
    "finetune.start": "Afinar una copia",
    "finetune.started": "Trabajo de afinado {job} en cola: síguelo en la página Entrenar.",
    "finetune.follow": "Seguirlo en la página Entrenar",
    "finetune.job": "Afinando una copia de **{base}** con {n} dibujos ({heldout} reservados).",
    "finetune.running": "Afinando una copia de {base}",
    "finetune.heldout_curve": "dibujos reservados",
    "finetune.m.heldout_acc": "Exactitud en reservados",
    "finetune.result_title": "Antes y después del afinado",
    "finetune.from": (
        "Una copia de **{base}** afinada con {n} dibujos ({whose}), cada uno repetido {repeat}×, mezclados con {mix} "
        "imágenes de la muestra."),
    "finetune.whose_class": "de la clase",
    "finetune.whose_one": "de {owner}",
    "finetune.whose_all": "todos los guardados",
    "finetune.col.set": "Medido con",
    "finetune.col.before": "Antes",
    "finetune.col.after": "Después",
    "finetune.col.change": "Cambio",
    "finetune.set.heldout": "dibujos reservados ({n})",
    "finetune.set.test": "conjunto de prueba oficial",
    "finetune.points": "{sign}{v} puntos",
    "finetune.no_test": "El conjunto de prueba oficial no está en este servidor (DIGITLAB_TEST_DATA): no se mide lo olvidado.",
    "finetune.few_heldout": "Solo {n} dibujos reservados: un dibujo mueve la cifra {step}.",
    "finetune.after_draw": "Con {n} dibujos guardados puedes afinar un modelo con ellos (página Inspeccionar).",
    "finetune.go_inspect": "Afinar un modelo con ellos",
}
