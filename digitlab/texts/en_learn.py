T = {"learn.title": "Learn"}
