"""Headless Chromium helpers shared by the browser tests, the UI benchmark and the screenshot tools."""

CHROMIUM = "/usr/bin/chromium"  # Debian's package (tools/install-test-deps.sh)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def draw(page, canvas, strokes, steps: int = 8):
    """Draw ``strokes`` (lists of (x, y) in canvas pixels) with the mouse on a canvas locator."""
    box = canvas.bounding_box()
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x, box["y"] + y)
        page.mouse.down()
        for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
            for k in range(1, steps + 1):
                page.mouse.move(box["x"] + x0 + (x1 - x0) * k / steps, box["y"] + y0 + (y1 - y0) * k / steps)
        page.mouse.up()
