T = {"learn.title": "Aprender"}
