"""English texts (the default)."""
T = {
    # navigation and sidebar
    "nav.home": "Home",
    "nav.data": "Data",
    "nav.train": "Train",
    "nav.inspect": "Inspect",
    "nav.draw": "Draw",
    "nav.learn": "Learn",
    "sidebar.language": "Language / Idioma",
    "common.error": "Something went wrong: {msg}",
    # data page
    "data.title": "Data",
    "data.intro": (
        "Every model in DigitLab trains on the dataset chosen here. The bundled sample (the first 10,000 "
        "MNIST training digits) works offline; a Kaggle *Digit Recognizer* CSV or an MNIST IDX pair can be "
        "uploaded; full MNIST (60,000 digits) downloads when there is a network."
    ),
    "data.source": "Source",
    "data.src.sample": "Bundled sample (10k)",
    "data.src.csv": "Kaggle CSV",
    "data.src.idx": "MNIST IDX pair",
    "data.src.mnist": "Full MNIST",
    "data.reading": "Reading…",
    "data.load_error": "Could not load this data: {msg}",
    "data.still_using": "Still using **{name}**.",
    "data.now_using": "Now using {name}",
    "data.use_sample": "Use the bundled sample",
    "data.csv_label": "Kaggle CSV: train.csv (label,pixel0..pixel783) or test.csv (pixels only)",
    "data.idx_images": "Images (…-images-idx3-ubyte[.gz])",
    "data.idx_labels": "Labels (…-labels-idx1-ubyte[.gz])",
    "data.idx_both": "Upload both files of the pair.",
    "data.split": "Split",
    "data.split.train": "training (60,000)",
    "data.split.test": "test (10,000)",
    "data.load_mnist": "Load full MNIST",
    "data.m.images": "Images",
    "data.m.labelled": "Labelled",
    "data.m.smallest": "Smallest class",
    "data.m.mean": "Mean pixel",
    "data.yes": "yes",
    "data.no": "no",
    "data.unlabelled": "This file has no labels (a Kaggle test.csv): models can predict it, but not train or be scored on it.",
    "data.show": "Show digits",
    "data.show.all": "of every class",
    "data.show.class": "labelled {d}",
    "data.shuffle": "Shuffle",
    "data.shuffle_help": "Draw another random set of digits",
    "data.grid_title": "{n} random digits with their labels",
    "data.balance_title": "Class balance: images per digit",
    "data.mean_title": "The average digit of each class",
    "data.json": "Summary as JSON (what `python -m digitlab info --json` prints)",
    "viz.digit": "digit (label)",
    "viz.images": "images",
    # home page
    "home.title": "DigitLab",
    "home.intro": (
        "A lab for **understanding and implementing neural networks from scratch** on handwritten "
        "digits. It grows out of the Spanish tutorial *Comprender e implementar redes neuronales "
        "desde cero*: a NumPy network for 0 vs 1, a scikit-learn MLP and a Keras CNN on the Kaggle "
        "*Digit Recognizer* data — done right, with the reasons shown."
    ),
    "home.dataset": "Dataset in use: **{name}** — {n:,} images. Explore it on the Data page.",
    "home.go_data": "Explore the data",
}
