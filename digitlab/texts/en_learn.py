"""English texts of the Learn page (the tutorial's sections 1 and 4, made interactive)."""
T = {
    "learn.title": "Learn",
    "learn.intro": (
        "Neural networks are machine-learning models loosely inspired by biological neurons. They learn the "
        "patterns of a labelled dataset from many simple processing units, **neurons**, organised in **layers**: "
        "an input layer that receives the data, an output layer that produces the answer, and **hidden layers** "
        "in between. Each neuron receives the outputs of the previous layer and passes its own to the next.\n\n"
        "This page walks through sections 1 and 4 of the tutorial *Comprender e implementar redes neuronales desde "
        "cero*, one idea at a time. Move the sliders; every **Show the code** opens the DigitLab function that does "
        "the work. Where the tutorial is wrong, the page says so."
    ),
    "learn.outro": (
        "Next: train these networks on the digits on the Train page, and look inside them on the Inspect page."
    ),
    "learn.code": "Show the code",
    "learn.code_missing": "The code of {name} is not available: {msg}",
    "learn.code_reference": (
        "The plain maths, from `digitlab/nn/reference.py`. The layers that train (`digitlab/nn/conv.py`) compute "
        "the same numbers, faster: in chunks that stay in the cache, on two threads; the tests check that both agree."
    ),
    # 1. neuron
    "learn.neuron.title": "1 · The neuron",
    "learn.neuron.body": (
        "A neuron is a single processing unit connected to other neurons. To each of its inputs it assigns a "
        "**weight** $w$ (how much that input matters) and it adds a **bias** $b$. It sums the weighted inputs, "
        "$z$, and passes the sum through an **activation function** $g$ to give its output $a$."
    ),
    "learn.neuron.x1": "Input x₁",
    "learn.neuron.x2": "Input x₂",
    "learn.neuron.w1": "Weight w₁",
    "learn.neuron.w2": "Weight w₂",
    "learn.neuron.b": "Bias b",
    "learn.neuron.g": "Activation g",
    "learn.neuron.z": "Weighted sum z",
    "learn.neuron.a": "Output a = g(z)",
    "learn.neuron.fig": "The neuron's output a over (x₁, x₂)",
    "learn.neuron.note": (
        "The dashed line is z = 0. The weights turn it and set how steep the change across it is; the bias shifts"
        " it. One neuron can only split the plane with a straight line: curved boundaries need a hidden layer "
        "(section 5)."
    ),
    # 2. activations
    "learn.act.title": "2 · Activation functions",
    "learn.act.body": (
        "An activation function applies a **non-linear** transformation to a neuron's weighted sum. Without it, "
        "layers of weighted sums would collapse into a single weighted sum, and a deep network could only draw "
        "straight lines. (The tutorial says their purpose is to predict the correct class: that is the job of the "
        "whole network; the activation's job is the non-linearity.) Popular ones are **ReLU**, **sigmoid** and "
        "**tanh**. Training needs their **derivatives** too (dotted): where a derivative is near 0, the neuron "
        "barely learns."
    ),
    "learn.act.range": "Range of z shown (±)",
    "learn.act.fig": "Activations and their derivatives",
    "learn.act.y": "g(z) and g′(z)",
    "learn.act.deriv": "derivative",
    "learn.act.pixels": (
        "**What the tutorial's section-2 code got wrong here.** It feeds raw pixels (0-255) into sigmoid neurons. "
        "Then z = W·x reaches the hundreds: widen the range above and see that the sigmoid is flat there, its "
        "derivative practically 0, so those neurons stop learning; and its `np.exp(-z)` overflows (for z below "
        "-709 in float64), which is the warning the tutorial printed. Divide the pixels by 255 first. DigitLab's "
        "sigmoid is written as (1 + tanh(z/2)) / 2, which never overflows; the seed's own version is shown below "
        "for comparison."
    ),
    # 3. forward
    "learn.fwd.title": "3 · Forward propagation",
    "learn.fwd.body": (
        "The network passes the activations forward, layer after layer. Each layer computes $Z = W \\cdot X + b$ "
        "and then $A = g(Z)$, where $g$ is the activation function, $A$ the activation, $W$ the weights of the "
        "inputs and $b$ the bias of each node (the tutorial writes it B). Here: 2 inputs, 3 hidden sigmoid "
        "neurons, 1 sigmoid output, whose value is the predicted probability of class 1."
    ),
    "learn.fwd.shapes": (
        "Shapes, as in the tutorial's code: X is (inputs, examples); W¹ is (3, 2), b¹ (3, 1); W² is (1, 3), b² (1, 1). "
        "With many examples in the columns of X, one matrix product does them all."
    ),
    "learn.fwd.x1": "Input x₁",
    "learn.fwd.x2": "Input x₂",
    "learn.fwd.fig": "One forward pass",
    "learn.fwd.edges": (
        "Edges: blue for positive weights, red for negative, thicker for larger |w|. Each node shows its "
        "activation."
    ),
    "learn.fwd.in": "input X",
    "learn.fwd.hid": "hidden A¹",
    "learn.fwd.out": "output A²",
    "learn.fwd.p": "Predicted probability A²",
    # 4. cost
    "learn.cost.title": "4 · The error and the cost",
    "learn.cost.body": (
        "The network learns by improving its weights and biases. It measures the error of its prediction at the "
        "last layer, and uses it to make small adjustments that reduce the total error. The **loss function** "
        "measures the error on one example; the **cost function** the error of the whole network over all "
        "examples.\n\n"
        "**Correction.** The tutorial writes *Loss = Actual − Predicted* and *Cost = Sum(Loss)*, but its own code "
        "(`compute_error`) uses the **log loss** (binary cross-entropy) and averages it. The difference matters: "
        "Actual − Predicted is negative or positive, so errors cancel in a sum, and it barely punishes a confident "
        "wrong answer. The log loss is always ≥ 0, is 0 only for a perfect, confident answer, and grows without "
        "limit as a wrong answer becomes confident. With a sigmoid output, its gradient is simply A − Y."
    ),
    "learn.cost.y": "True label y",
    "learn.cost.p": "Predicted probability p of class 1",
    "learn.cost.naive": "Tutorial's loss y − p",
    "learn.cost.log": "Log loss",
    "learn.cost.fig": "Log loss of one example",
    "learn.cost.loss": "loss",
    "learn.cost.cancel": (
        "Two examples, both wrong: y = 1 predicted p = 0.1, and y = 0 predicted p = 0.9. The tutorial's cost, "
        "Sum(Actual − Predicted) = 0.9 − 0.9 = **0**, a perfect score for a network wrong on both. The mean log loss "
        "is **{j}**."
    ),
    # 5. backprop / gradient descent
    "learn.gd.title": "5 · Backpropagation and gradient descent",
    "learn.gd.body": (
        "In **backpropagation** the error is passed backwards through the layers, so each layer can improve its "
        "weights and biases. The chain rule gives the derivative of the cost with respect to every weight and bias "
        "(the gradient); **gradient descent** then subtracts it, times a learning rate α, from the current values. "
        "Repeat, and the cost goes down.\n\n"
        "Below, the tutorial's own section-2 functions (`forward_propagation`, `backward_propagation`, "
        "`update_parameters`) train a tiny 2-input network on a 2-D problem. Take steps and watch the decision "
        "boundary (black line, p = 0.5) bend around the points and the cost fall."
    ),
    "learn.gd.problem": "Problem",
    "learn.gd.p.moons": "two moons",
    "learn.gd.p.circles": "circles",
    "learn.gd.p.xor": "XOR",
    "learn.gd.hidden": "Hidden neurons",
    "learn.gd.lr": "Learning rate α",
    "learn.gd.bug": "Tutorial's derivative 1 − A1²",
    "learn.gd.bug_help": "Back-propagate the hidden layer with tanh's derivative, as the tutorial's code does",
    "learn.gd.step1": "1 step",
    "learn.gd.step10": "10 steps",
    "learn.gd.step100": "100 steps",
    "learn.gd.reset": "Reset",
    "learn.gd.steps": "Steps",
    "learn.gd.cost": "Cost (log loss)",
    "learn.gd.acc": "Accuracy",
    "learn.gd.fig": "Decision boundary after {n} steps",
    "learn.gd.colour": (
        "Colour: the network's predicted probability p of class 1 (red); black line: p = 0.5, the decision "
        "boundary."
    ),
    "learn.gd.curve": "The cost at each step",
    "learn.gd.cost_axis": "cost (log loss)",
    "learn.gd.bug_note": (
        "**The tutorial's bug.** Its `backward_propagation` multiplies by `1 - np.power(A1, 2)`, the derivative of "
        "**tanh**, although its hidden layer is a **sigmoid**, whose derivative is `A1 * (1 - A1)`. Switch the toggle "
        "on, reset, and take 100 steps a few times: on the circles or XOR the cost stalls much higher. On its digits "
        "with raw pixels it was worse: saturated sigmoids give A1 = 0 or 1 exactly, where 1 − A1² is 0 or 1, and "
        "some runs learned to predict a single class."
    ),
    # CNN intro
    "learn.cnn.title": "6 · Deep networks and convolutional networks",
    "learn.cnn.body": (
        "**Deep** neural networks have many hidden layers that extract features, from low-level ones (edges, "
        "strokes) to higher-level ones. Convolutional neural networks (CNNs) and recurrent networks are examples.\n\n"
        "In a CNN each image is a matrix of pixel values (how dark each pixel is). Unlike a plain network, which "
        "flattens the image into a one-dimensional list and forgets where pixels were, a CNN uses the **position of "
        "each pixel and its neighbours**. Its key parts: convolutional layers, stride, pooling and the output layer."
    ),
    # conv
    "learn.conv.title": "6a · The convolutional layer",
    "learn.conv.body": (
        "A **kernel** (a small weight matrix, here 3×3) slides over the image as a window; at each position it "
        "multiplies the pixels under it by its weights and adds them up, giving one pixel of the output map. (The "
        "tutorial says the kernel *rotates* over the image: it **slides**.) The kernel behaves as a filter that "
        "extracts one kind of information, such as vertical edges. In a CNN the kernel's weights are not chosen by "
        "hand: they are learned, to minimise the loss. Pick a digit and a kernel, edit its weights, and slide it."
    ),
    "learn.conv.empty": "The dataset in use has no images.",
    "learn.conv.digit": "Digit",
    "learn.conv.no_class": "The dataset has no digit labelled {d}.",
    "learn.conv.nth": "Which one (0 to {n})",
    "learn.conv.index": "Image number (0 to {n})",
    "learn.conv.kernel": "Kernel",
    "learn.conv.edit": "Kernel weights (editable)",
    "learn.conv.bad_kernel": "The kernel must be 3×3 numbers.",
    "learn.conv.stride": "Stride",
    "learn.conv.pos": "Kernel position (0 to {n}, row by row)",
    "learn.conv.in": "input and kernel",
    "learn.conv.out": "output {h}×{w}",
    "learn.conv.fig": "The kernel slides over the digit",
    "learn.conv.value": (
        "Window at input row {i}, column {j} → output pixel (row {r}, column {c}) = Σ pixels × weights = **{v}**"
    ),
    "learn.k.vertical": "vertical edges (Sobel)",
    "learn.k.horizontal": "horizontal edges (Sobel)",
    "learn.k.diagonal": "diagonal edges",
    "learn.k.blur": "blur (mean)",
    "learn.k.sharpen": "sharpen",
    "learn.k.outline": "outline",
    "learn.k.identity": "identity",
    # stride
    "learn.stride.title": "6b · Stride",
    "learn.stride.body": (
        "The **stride** is the number of pixels the kernel moves at each step as it travels over the image: a "
        "kernel that moves N pixels at a time has a stride of N. A larger stride visits fewer positions, so the "
        "output map is smaller (try the stride above, too)."
    ),
    "learn.stride.map": "stride {s}: {h}×{w}",
    "learn.stride.fig": "Same kernel, stride 1, 2 and 3",
    # pool
    "learn.pool.title": "6c · Pooling",
    "learn.pool.body": (
        "A **pooling** layer shrinks the convolved output. **Max pooling** keeps the largest value of each window "
        "(here the window moves by its own size): the strongest response of the filter in each region survives, "
        "the map gets smaller, and a small shift of the digit changes the result less. Here the map is first "
        "passed through a ReLU, as in a CNN."
    ),
    "learn.pool.size": "Pool size",
    "learn.pool.before": "ReLU(conv) {h}×{w}",
    "learn.pool.after": "max-pooled {h}×{w}",
    "learn.pool.fig": "Max pooling",
    # softmax
    "learn.soft.title": "7 · The output layer: softmax",
    "learn.soft.body": (
        "To produce the final output, a dense (fully connected) layer with the **softmax** activation is applied. "
        "Softmax turns the layer's scores, the *logits* z, into one probability per class: all positive and adding "
        "up to 1. Raising one logit takes probability from all the others; adding the same number to every logit "
        "changes nothing (which is why the code subtracts the largest logit first, so `exp` cannot overflow). For "
        "digits there are 10 classes; four are enough to see it."
    ),
    "learn.soft.z": "Logit z for digit {k}",
    "learn.soft.top": "Most probable: digit {k}",
    "learn.soft.fig": "Softmax probabilities (sum = 1)",
    "learn.soft.class": "digit (class)",
    "learn.soft.prob": "probability",
    # batch
    "learn.batch.title": "8 · Batch size and the noise of mini-batch gradients",
    "learn.batch.body": (
        "The **batch size** is the number of examples propagated through the network before each update. Say there "
        "are 1050 training examples and a batch size of 100: the algorithm takes the first 100, trains, then the "
        "next 100, and so on; the last batch has the remaining 50. That makes 11 updates per pass over the data (an "
        "**epoch**) instead of 1. Smaller batches need less memory and usually train faster, because the weights are "
        "updated more often.\n\n"
        "The price: **the smaller the batch, the less accurate the estimate of the gradient**. Each green arrow is "
        "the gradient of one random mini-batch, the blue one that of the full batch, for a logistic neuron with two "
        "weights on a 2-D problem. Their spread shrinks roughly like 1/√(batch size)."
    ),
    "learn.batch.size": "Batch size",
    "learn.batch.again": "New batches",
    "learn.batch.spread": "Spread of the direction (RMS angle to the full gradient)",
    "learn.batch.fig": "Gradients: batches of {b} vs all {n}",
    "learn.batch.full": "full batch",
    "learn.batch.mini": "mini-batches",
    "learn.batch.spread_fig": "Direction spread vs batch size",
    "learn.batch.size_axis": "batch size",
    "learn.batch.spread_axis": "RMS angle (degrees)",
}
