"""Textos en español de la página Aprender (las secciones 1 y 4 del tutorial, interactivas)."""
T = {
    "learn.title": "Aprender",
    "learn.intro": (
        "Las redes neuronales son un tipo de modelos de aprendizaje automático inspirados en las neuronas "
        "biológicas. Aprenden los patrones de un conjunto de datos etiquetado mediante muchos nodos de procesamiento "
        "simples, las **neuronas**, organizados en **capas**: la capa de entrada recibe los datos, la capa de salida "
        "produce la respuesta y las **capas ocultas** quedan entre ambas. Cada neurona recibe las salidas de la capa "
        "anterior y pasa la suya a la siguiente.\n\n"
        "Esta página recorre las secciones 1 y 4 del tutorial *Comprender e implementar redes neuronales desde "
        "cero*, una idea cada vez. Mueve los deslizadores; cada **Ver el código** abre la función de DigitLab que "
        "hace el trabajo. Donde el tutorial se equivoca, la página lo dice."
    ),
    "learn.outro": (
        "Después: entrena estas redes con los dígitos en la página Entrenar y mira dentro de ellas en la página "
        "Inspeccionar."
    ),
    "learn.code": "Ver el código",
    "learn.code_missing": "El código de {name} no está disponible: {msg}",
    "learn.code_reference": (
        "Las matemáticas tal cual, de `digitlab/nn/reference.py`. Las capas que entrenan (`digitlab/nn/conv.py`) "
        "calculan los mismos números, más deprisa: por trozos que caben en la caché, en dos hilos; los tests "
        "comprueban que ambas coinciden."
    ),
    # 1. neurona
    "learn.neuron.title": "1 · La neurona",
    "learn.neuron.body": (
        "Una neurona es una unidad de procesamiento conectada a otras neuronas. A cada una de sus entradas le asigna "
        "un **peso** $w$ (la importancia de esa entrada) y agrega un término de **sesgo** $b$. Suma las entradas "
        "ponderadas, $z$, y pasa la suma por una **función de activación** $g$ para dar su salida $a$."
    ),
    "learn.neuron.x1": "Entrada x₁",
    "learn.neuron.x2": "Entrada x₂",
    "learn.neuron.w1": "Peso w₁",
    "learn.neuron.w2": "Peso w₂",
    "learn.neuron.b": "Sesgo b",
    "learn.neuron.g": "Activación g",
    "learn.neuron.z": "Suma ponderada z",
    "learn.neuron.a": "Salida a = g(z)",
    "learn.neuron.fig": "Salida a de la neurona sobre (x₁, x₂)",
    "learn.neuron.note": (
        "La línea discontinua es z = 0. Los pesos la giran y fijan lo brusco del cambio al cruzarla; el sesgo la "
        "desplaza. Una neurona sola solo puede dividir el plano con una recta: las fronteras curvas necesitan una"
        " capa oculta (sección 5)."
    ),
    # 2. activaciones
    "learn.act.title": "2 · Funciones de activación",
    "learn.act.body": (
        "Una función de activación aplica una transformación **no lineal** a la suma ponderada de una neurona. Sin "
        "ella, varias capas de sumas ponderadas equivaldrían a una sola, y una red profunda solo podría trazar "
        "rectas. (El tutorial dice que su objetivo es predecir la clase correcta: ese es el trabajo de toda la red; "
        "el de la activación es la no linealidad.) Algunas populares son **ReLU**, **sigmoide** y **tanh**. El "
        "entrenamiento necesita también sus **derivadas** (punteadas): donde la derivada es casi 0, la neurona apenas "
        "aprende."
    ),
    "learn.act.range": "Rango de z mostrado (±)",
    "learn.act.fig": "Activaciones y sus derivadas",
    "learn.act.y": "g(z) y g′(z)",
    "learn.act.deriv": "derivada",
    "learn.act.pixels": (
        "**Lo que el código de la sección 2 del tutorial hace mal aquí.** Pasa los píxeles en bruto (0-255) a "
        "neuronas sigmoides. Entonces z = W·x llega a los cientos: amplía el rango de arriba y verás que ahí la "
        "sigmoide es plana y su derivada prácticamente 0, así que esas neuronas dejan de aprender; y su "
        "`np.exp(-z)` se desborda (para z menor que -709 en float64), que es el aviso que imprimía el tutorial. "
        "Divide antes los píxeles entre 255. La sigmoide de DigitLab se escribe como (1 + tanh(z/2)) / 2, que nunca "
        "se desborda; abajo está también la del tutorial para comparar."
    ),
    # 3. propagación hacia adelante
    "learn.fwd.title": "3 · Propagación hacia adelante",
    "learn.fwd.body": (
        "La red pasa las activaciones hacia adelante, capa tras capa. Cada capa calcula $Z = W \\cdot X + b$ y "
        "luego $A = g(Z)$, donde $g$ es la función de activación, $A$ la activación, $W$ los pesos de las entradas y "
        "$b$ el sesgo de cada nodo (el tutorial lo escribe B). Aquí: 2 entradas, 3 neuronas ocultas sigmoides y 1 "
        "salida sigmoide, cuyo valor es la probabilidad predicha de la clase 1."
    ),
    "learn.fwd.shapes": (
        "Formas, como en el código del tutorial: X es (entradas, ejemplos); W¹ es (3, 2), b¹ (3, 1); W² es (1, 3), "
        "b² (1, 1). Con muchos ejemplos en las columnas de X, un solo producto de matrices los calcula todos."
    ),
    "learn.fwd.x1": "Entrada x₁",
    "learn.fwd.x2": "Entrada x₂",
    "learn.fwd.fig": "Una propagación hacia adelante",
    "learn.fwd.edges": (
        "Aristas: azul para pesos positivos, rojo para negativos, más gruesas cuanto mayor es |w|. Cada nodo "
        "muestra su activación."
    ),
    "learn.fwd.in": "entrada X",
    "learn.fwd.hid": "oculta A¹",
    "learn.fwd.out": "salida A²",
    "learn.fwd.p": "Probabilidad predicha A²",
    # 4. error y costo
    "learn.cost.title": "4 · El error y el costo",
    "learn.cost.body": (
        "La red neuronal aprende mejorando los valores de pesos y sesgos. Calcula el error de la salida predicha en "
        "la capa final y lo usa para hacer pequeños ajustes que reduzcan el error total. La **función de pérdida** "
        "mide el error en un ejemplo; la **función de costo**, el error total de la red sobre todos los ejemplos.\n\n"
        "**Corrección.** El tutorial escribe *Pérdida = Valor Real − Valor Predicho* y *Costo = Suma(Pérdida)*, pero "
        "su propio código (`compute_error`) usa la **pérdida logarítmica** (entropía cruzada binaria) y la promedia. "
        "La diferencia importa: Real − Predicho es negativo o positivo, así que los errores se cancelan al sumar, y "
        "apenas castiga una respuesta equivocada dada con seguridad. La pérdida logarítmica siempre es ≥ 0, vale 0 "
        "solo para una respuesta perfecta y segura, y crece sin límite cuanto más segura es una respuesta "
        "equivocada. Con una salida sigmoide, su gradiente es simplemente A − Y."
    ),
    "learn.cost.y": "Etiqueta real y",
    "learn.cost.p": "Probabilidad predicha p de la clase 1",
    "learn.cost.naive": "Pérdida del tutorial y − p",
    "learn.cost.log": "Pérdida logarítmica",
    "learn.cost.fig": "Pérdida logarítmica de un ejemplo",
    "learn.cost.loss": "pérdida",
    "learn.cost.cancel": (
        "Dos ejemplos, ambos mal: y = 1 con p = 0,1 predicho, e y = 0 con p = 0,9. El costo del tutorial, "
        "Suma(Real − Predicho) = 0,9 − 0,9 = **0**, una nota perfecta para una red que falla en los dos. La pérdida "
        "logarítmica media es **{j}**."
    ),
    # 5. retropropagación / descenso de gradiente
    "learn.gd.title": "5 · Retropropagación y descenso de gradiente",
    "learn.gd.body": (
        "En la **retropropagación** el error se pasa hacia atrás por las capas, para que cada capa pueda mejorar sus "
        "pesos y sesgos. La regla de la cadena da la derivada del costo respecto a cada peso y sesgo (el gradiente); "
        "el **descenso de gradiente** la resta, multiplicada por una tasa de aprendizaje α, de los valores actuales. "
        "Al repetirlo, el costo baja.\n\n"
        "Abajo, las funciones de la sección 2 del propio tutorial (`forward_propagation`, `backward_propagation`, "
        "`update_parameters`) entrenan una red diminuta de 2 entradas en un problema 2-D. Da pasos y mira cómo la "
        "frontera de decisión (línea negra, p = 0,5) se curva alrededor de los puntos y cómo baja el costo."
    ),
    "learn.gd.problem": "Problema",
    "learn.gd.p.moons": "dos lunas",
    "learn.gd.p.circles": "círculos",
    "learn.gd.p.xor": "XOR",
    "learn.gd.hidden": "Neuronas ocultas",
    "learn.gd.lr": "Tasa de aprendizaje α",
    "learn.gd.bug": "Derivada del tutorial 1 − A1²",
    "learn.gd.bug_help": "Retropropagar la capa oculta con la derivada de tanh, como hace el código del tutorial",
    "learn.gd.step1": "1 paso",
    "learn.gd.step10": "10 pasos",
    "learn.gd.step100": "100 pasos",
    "learn.gd.reset": "Reiniciar",
    "learn.gd.steps": "Pasos",
    "learn.gd.cost": "Costo (pérdida logarítmica)",
    "learn.gd.acc": "Exactitud",
    "learn.gd.fig": "Frontera de decisión tras {n} pasos",
    "learn.gd.colour": (
        "Color: la probabilidad p de la clase 1 que predice la red (rojo); línea negra: p = 0,5, la frontera de "
        "decisión."
    ),
    "learn.gd.curve": "El costo en cada paso",
    "learn.gd.cost_axis": "costo (pérdida logarítmica)",
    "learn.gd.bug_note": (
        "**El error del tutorial.** Su `backward_propagation` multiplica por `1 - np.power(A1, 2)`, la derivada de "
        "**tanh**, aunque su capa oculta es **sigmoide**, cuya derivada es `A1 * (1 - A1)`. Activa el interruptor, "
        "reinicia y da 100 pasos varias veces: en los círculos o el XOR el costo se estanca mucho más arriba. Con sus "
        "dígitos en píxeles brutos fue peor: las sigmoides saturadas dan A1 = 0 o 1 exactos, donde 1 − A1² vale 0 o "
        "1, y algunas ejecuciones aprendieron a predecir una sola clase."
    ),
    # introducción CNN
    "learn.cnn.title": "6 · Redes profundas y redes convolucionales",
    "learn.cnn.body": (
        "Las redes neuronales **profundas** tienen muchas capas ocultas que extraen características, desde las de "
        "bajo nivel (bordes, trazos) hasta otras más abstractas. Las redes neuronales convolucionales (CNN) y las "
        "recurrentes son ejemplos.\n\n"
        "En una CNN cada imagen es una matriz de valores de píxeles (la oscuridad de cada píxel). A diferencia de una "
        "red tradicional, que trata la imagen como una lista unidimensional y olvida dónde estaba cada píxel, una CNN "
        "usa la **ubicación de cada píxel y sus vecinos**. Sus componentes clave: capas convolucionales, stride, "
        "agrupación (pooling) y la capa de salida."
    ),
    # convolución
    "learn.conv.title": "6a · La capa convolucional",
    "learn.conv.body": (
        "Un **kernel** (una pequeña matriz de pesos, aquí 3×3) se desliza sobre la imagen como una ventana; en cada "
        "posición multiplica los píxeles que cubre por sus pesos y los suma, lo que da un píxel del mapa de salida. "
        "(El tutorial dice que el núcleo *gira* sobre la imagen: se **desliza**.) El kernel se comporta como un filtro "
        "que extrae un tipo de información, como los bordes verticales. En una CNN sus pesos no se eligen a mano: se "
        "aprenden, para minimizar la pérdida. Elige un dígito y un kernel, edita sus pesos y deslízalo."
    ),
    "learn.conv.empty": "El conjunto de datos en uso no tiene imágenes.",
    "learn.conv.digit": "Dígito",
    "learn.conv.no_class": "El conjunto de datos no tiene ningún dígito con la etiqueta {d}.",
    "learn.conv.nth": "Cuál (de 0 a {n})",
    "learn.conv.index": "Número de imagen (de 0 a {n})",
    "learn.conv.kernel": "Kernel",
    "learn.conv.edit": "Pesos del kernel (editables)",
    "learn.conv.bad_kernel": "El kernel debe tener 3×3 números.",
    "learn.conv.stride": "Stride (paso)",
    "learn.conv.pos": "Posición del kernel (de 0 a {n}, fila a fila)",
    "learn.conv.in": "entrada y kernel",
    "learn.conv.out": "salida {h}×{w}",
    "learn.conv.fig": "El kernel se desliza sobre el dígito",
    "learn.conv.value": (
        "Ventana en la fila {i}, columna {j} de la entrada → píxel de salida (fila {r}, columna {c}) = "
        "Σ píxeles × pesos = **{v}**"
    ),
    "learn.k.vertical": "bordes verticales (Sobel)",
    "learn.k.horizontal": "bordes horizontales (Sobel)",
    "learn.k.diagonal": "bordes diagonales",
    "learn.k.blur": "desenfoque (media)",
    "learn.k.sharpen": "enfoque",
    "learn.k.outline": "contorno",
    "learn.k.identity": "identidad",
    # stride
    "learn.stride.title": "6b · Stride (paso)",
    "learn.stride.body": (
        "El **stride** es el número de píxeles que avanza el kernel en cada paso mientras recorre la imagen: si la "
        "matriz de pesos se mueve N píxeles a la vez, se llama stride de N. Un stride mayor visita menos posiciones, "
        "así que el mapa de salida es más pequeño (prueba también el stride de arriba)."
    ),
    "learn.stride.map": "stride {s}: {h}×{w}",
    "learn.stride.fig": "Mismo kernel, stride 1, 2 y 3",
    # pooling
    "learn.pool.title": "6c · Agrupación (pooling)",
    "learn.pool.body": (
        "Una capa de **agrupación** (pooling) reduce la salida convolucionada. El **max pooling** se queda con el "
        "valor más grande de cada ventana (aquí la ventana avanza su propio tamaño): sobrevive la respuesta más fuerte "
        "del filtro en cada región, el mapa se hace más pequeño y un pequeño desplazamiento del dígito cambia menos el "
        "resultado. Aquí el mapa pasa antes por una ReLU, como en una CNN."
    ),
    "learn.pool.size": "Tamaño de la ventana",
    "learn.pool.before": "ReLU(conv.) {h}×{w}",
    "learn.pool.after": "tras max pooling {h}×{w}",
    "learn.pool.fig": "Max pooling",
    # softmax
    "learn.soft.title": "7 · La capa de salida: softmax",
    "learn.soft.body": (
        "Para generar la salida final se aplica una capa densa (completamente conectada) con la activación "
        "**softmax**. Softmax convierte las puntuaciones de la capa, los *logits* z, en una probabilidad por clase: "
        "todas positivas y que suman 1. Subir un logit quita probabilidad a todos los demás; sumar el mismo número a "
        "todos los logits no cambia nada (por eso el código resta primero el logit mayor, y así `exp` no se "
        "desborda). Para los dígitos hay 10 clases; con cuatro basta para verlo."
    ),
    "learn.soft.z": "Logit z del dígito {k}",
    "learn.soft.top": "Más probable: dígito {k}",
    "learn.soft.fig": "Probabilidades softmax (suman 1)",
    "learn.soft.class": "dígito (clase)",
    "learn.soft.prob": "probabilidad",
    # lotes
    "learn.batch.title": "8 · Tamaño del lote y el ruido de los gradientes de mini lotes",
    "learn.batch.body": (
        "El **tamaño del lote** (batch size) es el número de muestras que se propagan por la red antes de cada "
        "actualización. Supongamos 1050 muestras de entrenamiento y un tamaño de lote de 100: el algoritmo toma las "
        "primeras 100, entrena la red, luego las 100 siguientes, y así sucesivamente; el último lote tiene las 50 "
        "restantes. Son 11 actualizaciones por pasada completa por los datos (una **época**) en vez de 1. Los lotes "
        "pequeños requieren menos memoria y, por lo general, entrenan más rápido, porque los pesos se actualizan más "
        "a menudo.\n\n"
        "El precio: **cuanto más pequeño el lote, menos precisa es la estimación del gradiente**. Cada flecha verde "
        "es el gradiente de un mini lote al azar, la azul el del lote completo, para una neurona logística con dos "
        "pesos en un problema 2-D. Su dispersión se reduce más o menos como 1/√(tamaño del lote)."
    ),
    "learn.batch.size": "Tamaño del lote",
    "learn.batch.again": "Otros lotes",
    "learn.batch.spread": "Dispersión de la dirección (ángulo RMS respecto al gradiente completo)",
    "learn.batch.fig": "Gradientes: lotes de {b} frente a {n}",
    "learn.batch.full": "lote completo",
    "learn.batch.mini": "mini lotes",
    "learn.batch.spread_fig": "Dispersión según el tamaño del lote",
    "learn.batch.size_axis": "tamaño del lote",
    "learn.batch.spread_axis": "ángulo RMS (grados)",
}
