"""Cycles of a directed graph, for the checks in scripts/ (check-crate-graph.sh,
check-module-cycles.sh): one depth-first search, each cycle reported by its path."""


def cycles(nodes, successors):
    """The cycles found by a depth-first search from each of `nodes` in order, following
    `successors(node)` (an iterable of nodes, visited in its order): a list of paths
    `[a, b, ..., a]`, each closing at the node where the search met its own stack."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {n: WHITE for n in nodes}
    stack, found = [], []

    def visit(n):
        colour[n] = GREY
        stack.append(n)
        for m in successors(n):
            if colour[m] == GREY:
                found.append(stack[stack.index(m):] + [m])
            elif colour[m] == WHITE:
                visit(m)
        stack.pop()
        colour[n] = BLACK

    for n in nodes:
        if colour[n] == WHITE:
            visit(n)
    return found
