"""Spanish for the model registry's own texts (labels, explanations, settings' help).

English lives in the registry itself (:mod:`digitlab.models.registry` and the settings of
:mod:`digitlab.models.config`; one source); these keys mirror it:
``kind.<kind>.label``, ``kind.<kind>.explanation``, ``field.<kind>.<setting>`` (a setting's help)
and ``label.<kind>.<setting>`` (its short label, the English one being the field's ``label``).
A test checks that every registry text has its translation here.
"""
_VAL = "Parte de los datos que se aparta para medir la exactitud de validación."
_MAX = "Usar como mucho estas imágenes de entrenamiento (0 = todas); con menos se entrena más rápido."
_OPT = "Cómo se mueven los pesos siguiendo el gradiente."
_LR = "Tasa de aprendizaje."
_BATCH = "Imágenes por paso de gradiente."
_D1 = "Dropout tras la capa de max-pooling."
_D2 = "Dropout tras la capa densa de 128 unidades."
_SHIFT_NP = "Desplazar cada imagen de entrenamiento hasta estos píxeles al azar, en cada época (aumento de datos)."
_DECAY = "Multiplicar la tasa de aprendizaje por esto tras cada época."

# short labels of the settings (``label.<kind>.<setting>``) shared by several kinds
_L_VAL = "parte para validación"
_L_MAX = "imágenes de entrenamiento (0 = todas)"
_L_OPT = "optimizador"
_L_LR = "tasa de aprendizaje"
_L_BATCH = "tamaño del lote"
_L_SHIFT_NP = "desplazamiento aleatorio (px)"
_L_DECAY = "decaimiento de la tasa por época"
_L_LAYERS = "tamaños de las capas ocultas"
_L_ACT = "activación de las capas ocultas"
_L_EPOCHS = "número de épocas"
_L_D1 = "dropout tras el pooling"
_L_D2 = "dropout tras la capa densa"

T = {
    "kind.numpy-binary.label": "Red del tutorial: 0 contra 1 (NumPy)",
    "kind.numpy-binary.explanation": (
        "La primera red del tutorial, escrita función a función en NumPy: 784 píxeles, una capa oculta pequeña y "
        "una salida sigmoide que dice cuán segura está de que el dígito es un 1. La configuración 'tutorial' conserva "
        "los errores del tutorial (píxeles crudos 0-255 y la derivada de tanh en una capa sigmoide), que hacen "
        "colapsar el entrenamiento con algunas semillas; 'fixed' escala los píxeles y usa la derivada correcta."),
    "field.numpy-binary.variant": (
        "tutorial: el tutorial tal cual (píxeles crudos 0-255, derivada de tanh en una capa oculta sigmoide); "
        "fixed: píxeles escalados a [0, 1] y la derivada correcta."),
    "field.numpy-binary.hidden": "Unidades ocultas (el tutorial usó 10).",
    "field.numpy-binary.iterations": "Pasos de descenso de gradiente con todos los datos.",
    "field.numpy-binary.lr": "Tasa de aprendizaje (el tutorial usó 1,2).",
    "field.numpy-binary.val_fraction": _VAL,
    "field.numpy-binary.max_train": _MAX,
    "kind.numpy-mlp.label": "Perceptrón multicapa (NumPy, desde cero)",
    "kind.numpy-mlp.explanation": (
        "Una red totalmente conectada escrita en NumPy: la imagen de 28x28 se aplana en 784 números, cada capa "
        "oculta multiplica por una matriz de pesos, suma un sesgo y aplica una activación, y una softmax convierte "
        "los 10 últimos números en probabilidades. La retropropagación y el optimizador también son nuestros."),
    "field.numpy-mlp.hidden": "Tamaños de las capas ocultas, p. ej. 128 o 256,128.",
    "field.numpy-mlp.activation": "Activación de las capas ocultas.",
    "field.numpy-mlp.optimizer": _OPT,
    "field.numpy-mlp.lr": _LR,
    "field.numpy-mlp.epochs": "Pasadas por los datos de entrenamiento.",
    "field.numpy-mlp.batch_size": _BATCH,
    "field.numpy-mlp.shift": _SHIFT_NP,
    "field.numpy-mlp.lr_decay": _DECAY,
    "field.numpy-mlp.val_fraction": _VAL,
    "field.numpy-mlp.max_train": _MAX,
    "kind.numpy-cnn.label": "Red convolucional (NumPy, desde cero)",
    "kind.numpy-cnn.explanation": (
        "La CNN del tutorial escrita en NumPy: dos convoluciones de 3x3 aprenden detectores locales de trazos, el "
        "max-pooling conserva la respuesta más fuerte de cada parche de 2x2, el dropout combate el sobreajuste y "
        "dos capas densas clasifican. Entrena a unas 0,8 veces la velocidad de Keras en 2 núcleos (bench.nn), y "
        "cada paso está a la vista."),
    "field.numpy-cnn.dropout1": _D1,
    "field.numpy-cnn.dropout2": _D2,
    "field.numpy-cnn.optimizer": _OPT,
    "field.numpy-cnn.lr": _LR,
    "field.numpy-cnn.epochs": "Pasadas por los datos de entrenamiento.",
    "field.numpy-cnn.batch_size": _BATCH,
    "field.numpy-cnn.shift": _SHIFT_NP,
    "field.numpy-cnn.lr_decay": _DECAY,
    "field.numpy-cnn.val_fraction": _VAL,
    "field.numpy-cnn.max_train": _MAX,
    "kind.sklearn-mlp.label": "Perceptrón multicapa (scikit-learn)",
    "kind.sklearn-mlp.explanation": (
        "El MLPClassifier de scikit-learn, como en la sección 3 del tutorial. Los ajustes del tutorial (configuración "
        "'tutorial': 5 unidades ocultas, lbfgs, píxeles crudos 0-255) llegan solo a un 20 %: los píxeles sin escalar saturan la red. "
        "Escalar los píxeles a [0, 1], más unidades ocultas y adam llegan a un 95 %; añadir copias de las imágenes "
        "desplazadas un píxel, a un 97 %."),
    "field.sklearn-mlp.hidden": "Tamaños de las capas ocultas (el tutorial usó 5).",
    "field.sklearn-mlp.activation": "Activación de las capas ocultas.",
    "field.sklearn-mlp.solver": (
        "lbfgs es un método cuasi-Newton con todos los datos (el del tutorial); adam y sgd usan mini-lotes."),
    "field.sklearn-mlp.alpha": "Penalización L2 sobre los pesos.",
    "field.sklearn-mlp.lr": "Tasa de aprendizaje inicial (adam y sgd).",
    "field.sklearn-mlp.epochs": "Pasadas por los datos (lbfgs: rondas de `lbfgs_iters` iteraciones).",
    "field.sklearn-mlp.lbfgs_iters": "Iteraciones de lbfgs por ronda (10 rondas x 20 = las 200 por defecto de scikit-learn).",
    "field.sklearn-mlp.batch_size": "Imágenes por paso de gradiente (adam y sgd).",
    "field.sklearn-mlp.scale_pixels": "Dividir los píxeles entre 255; el tutorial usó los píxeles crudos 0-255, por eso obtuvo un 20 %.",
    "field.sklearn-mlp.shift_copies": (
        "Añadir copias de cada imagen desplazadas un píxel arriba, abajo, a la izquierda y a la derecha "
        "(5 veces los datos: épocas más lentas, mejor exactitud)."),
    "field.sklearn-mlp.val_fraction": _VAL,
    "field.sklearn-mlp.max_train": _MAX,
    "kind.keras-cnn.label": "Red convolucional (Keras)",
    "kind.keras-cnn.explanation": (
        "La CNN de la sección 5 del tutorial entrenada con Keras: Conv32-Conv64-MaxPool-Dropout-Dense128-Dropout-"
        "Dense10 con entropía cruzada categórica. El `Adadelta()` del tutorial (configuración 'tutorial') significa ahora una tasa de "
        "aprendizaje de 0,001 (Keras 2 usaba 1,0): por eso solo llegó al 62,5 %; Adam, o Adadelta a 1,0, lo arregla. "
        "El aumento de datos (pequeños desplazamientos, giros y zooms) ayuda con los dígitos dibujados, que no "
        "están centrados como en MNIST."),
    "field.keras-cnn.optimizer": (
        "adadelta con lr 0,001 es el `Adadelta()` del tutorial en Keras 3 (un 62 % allí); en Keras 2 el valor por "
        "defecto era lr 1,0."),
    "field.keras-cnn.lr": _LR,
    "field.keras-cnn.lr_schedule": "cosine: reducir la tasa de aprendizaje hasta el 2 % de la inicial a lo largo del entrenamiento.",
    "field.keras-cnn.epochs": "Pasadas por los datos de entrenamiento (unos 6-10 s cada una con la muestra de 10k).",
    "field.keras-cnn.batch_size": _BATCH,
    "field.keras-cnn.dropout1": _D1,
    "field.keras-cnn.dropout2": _D2,
    "field.keras-cnn.augment": (
        "Desplazamientos, giros y zooms al azar de las imágenes de entrenamiento: los dígitos dibujados no están "
        "centrados como en MNIST."),
    "field.keras-cnn.rotation": "Giro aleatorio máximo, en grados.",
    "field.keras-cnn.shift": "Desplazamiento aleatorio máximo, fracción de la imagen.",
    "field.keras-cnn.zoom": "Zoom aleatorio máximo hacia dentro o fuera, fracción.",
    "field.keras-cnn.weight_decay": "Decaimiento de pesos desacoplado (al estilo AdamW; 0 = ninguno).",
    "field.keras-cnn.label_smoothing": "Suavizar los objetivos one-hot en esta cantidad (0 = nada).",
    "field.keras-cnn.precision": (
        "bfloat16: precisión mixta (pesos en float32, cálculos en bfloat16), unas 2 veces más rápida en CPU con "
        "bfloat16 nativo (AVX512-BF16/AMX); auto: bfloat16 cuando la CPU lo tiene."),
    "field.keras-cnn.ema": "Usar al final del entrenamiento una media móvil de los pesos (momento 0,99).",
    "field.keras-cnn.val_fraction": _VAL,
    "field.keras-cnn.max_train": _MAX,

    # ---- short labels of the settings
    "label.numpy-binary.variant": "versión de la red",
    "label.numpy-binary.hidden": "unidades ocultas",
    "label.numpy-binary.iterations": "pasos de gradiente",
    "label.numpy-binary.lr": _L_LR,
    "label.numpy-binary.val_fraction": _L_VAL,
    "label.numpy-binary.max_train": _L_MAX,
    "label.numpy-mlp.hidden": _L_LAYERS,
    "label.numpy-mlp.activation": _L_ACT,
    "label.numpy-mlp.optimizer": _L_OPT,
    "label.numpy-mlp.lr": _L_LR,
    "label.numpy-mlp.epochs": _L_EPOCHS,
    "label.numpy-mlp.batch_size": _L_BATCH,
    "label.numpy-mlp.shift": _L_SHIFT_NP,
    "label.numpy-mlp.lr_decay": _L_DECAY,
    "label.numpy-mlp.val_fraction": _L_VAL,
    "label.numpy-mlp.max_train": _L_MAX,
    "label.numpy-cnn.dropout1": _L_D1,
    "label.numpy-cnn.dropout2": _L_D2,
    "label.numpy-cnn.optimizer": _L_OPT,
    "label.numpy-cnn.lr": _L_LR,
    "label.numpy-cnn.epochs": _L_EPOCHS,
    "label.numpy-cnn.batch_size": _L_BATCH,
    "label.numpy-cnn.shift": _L_SHIFT_NP,
    "label.numpy-cnn.lr_decay": _L_DECAY,
    "label.numpy-cnn.val_fraction": _L_VAL,
    "label.numpy-cnn.max_train": _L_MAX,
    "label.sklearn-mlp.hidden": _L_LAYERS,
    "label.sklearn-mlp.activation": _L_ACT,
    "label.sklearn-mlp.solver": "método de optimización",
    "label.sklearn-mlp.alpha": "penalización L2",
    "label.sklearn-mlp.lr": _L_LR,
    "label.sklearn-mlp.epochs": _L_EPOCHS,
    "label.sklearn-mlp.lbfgs_iters": "iteraciones de lbfgs por ronda",
    "label.sklearn-mlp.batch_size": _L_BATCH,
    "label.sklearn-mlp.scale_pixels": "escalar los píxeles a [0, 1]",
    "label.sklearn-mlp.shift_copies": "añadir copias desplazadas un píxel",
    "label.sklearn-mlp.val_fraction": _L_VAL,
    "label.sklearn-mlp.max_train": _L_MAX,
    "label.keras-cnn.optimizer": _L_OPT,
    "label.keras-cnn.lr": _L_LR,
    "label.keras-cnn.lr_schedule": "evolución de la tasa de aprendizaje",
    "label.keras-cnn.epochs": _L_EPOCHS,
    "label.keras-cnn.batch_size": _L_BATCH,
    "label.keras-cnn.dropout1": _L_D1,
    "label.keras-cnn.dropout2": _L_D2,
    "label.keras-cnn.augment": "aumento de datos",
    "label.keras-cnn.rotation": "giro máximo (grados)",
    "label.keras-cnn.shift": "desplazamiento máximo (fracción)",
    "label.keras-cnn.zoom": "zoom máximo (fracción)",
    "label.keras-cnn.weight_decay": "decaimiento de pesos",
    "label.keras-cnn.label_smoothing": "suavizado de etiquetas",
    "label.keras-cnn.ema": "media móvil de los pesos",
    "label.keras-cnn.precision": "precisión numérica",
    "label.keras-cnn.val_fraction": _L_VAL,
    "label.keras-cnn.max_train": _L_MAX,
}
