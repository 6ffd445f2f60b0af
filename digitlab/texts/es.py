"""Textos en español (el tutorial original está en español)."""
T = {
    "nav.home": "Inicio",
    "nav.data": "Datos",
    "nav.train": "Entrenar",
    "nav.inspect": "Inspeccionar",
    "nav.draw": "Dibujar",
    "nav.learn": "Aprender",
    "sidebar.language": "Language / Idioma",
    "common.error": "Algo salió mal: {msg}",
    "data.title": "Datos",
    "data.intro": (
        "Todos los modelos de DigitLab se entrenan con el conjunto de datos elegido aquí. La muestra incluida "
        "(los primeros 10.000 dígitos de entrenamiento de MNIST) funciona sin conexión; se puede subir un CSV de "
        "Kaggle *Digit Recognizer* o un par de archivos IDX de MNIST; el MNIST completo (60.000 dígitos) se "
        "descarga cuando hay red."
    ),
    "data.source": "Origen",
    "data.src.sample": "Muestra incluida (10k)",
    "data.src.csv": "CSV de Kaggle",
    "data.src.idx": "Par IDX de MNIST",
    "data.src.mnist": "MNIST completo",
    "data.reading": "Leyendo…",
    "data.load_error": "No se pudieron cargar estos datos: {msg}",
    "data.still_using": "Se sigue usando **{name}**.",
    "data.now_using": "Ahora se usa {name}",
    "data.use_sample": "Usar la muestra incluida",
    "data.csv_label": "CSV de Kaggle: train.csv (label,pixel0..pixel783) o test.csv (solo píxeles)",
    "data.idx_images": "Imágenes (…-images-idx3-ubyte[.gz])",
    "data.idx_labels": "Etiquetas (…-labels-idx1-ubyte[.gz])",
    "data.idx_both": "Sube los dos archivos del par.",
    "data.split": "Partición",
    "data.split.train": "entrenamiento (60.000)",
    "data.split.test": "prueba (10.000)",
    "data.load_mnist": "Cargar MNIST completo",
    "data.m.images": "Imágenes",
    "data.m.labelled": "Con etiquetas",
    "data.m.smallest": "Clase más pequeña",
    "data.m.mean": "Píxel medio",
    "data.yes": "sí",
    "data.no": "no",
    "data.unlabelled": "Este archivo no tiene etiquetas (un test.csv de Kaggle): los modelos pueden predecirlo, pero no entrenar ni evaluarse con él.",
    "data.show": "Mostrar dígitos",
    "data.show.all": "de todas las clases",
    "data.show.class": "con etiqueta {d}",
    "data.shuffle": "Barajar",
    "data.shuffle_help": "Elegir otro conjunto aleatorio de dígitos",
    "data.grid_title": "{n} dígitos al azar con sus etiquetas",
    "data.balance_title": "Balance de clases: imágenes por dígito",
    "data.mean_title": "El dígito promedio de cada clase",
    "data.json": "Resumen en JSON (lo que imprime `python -m digitlab info --json`)",
    "viz.digit": "dígito (etiqueta)",
    "viz.images": "imágenes",
    "home.title": "DigitLab",
    "home.intro": (
        "Un laboratorio para **comprender e implementar redes neuronales desde cero** con dígitos "
        "escritos a mano. Nace del tutorial *Comprender e implementar redes neuronales desde cero*: una red "
        "en NumPy para 0 contra 1, un MLP de scikit-learn y una CNN de Keras con los datos de Kaggle "
        "*Digit Recognizer*, hechos bien y mostrando por qué."
    ),
    "home.dataset": "Datos en uso: **{name}**: {n:,} imágenes. Explóralos en la página Datos.",
    "home.go_data": "Explorar los datos",
}
