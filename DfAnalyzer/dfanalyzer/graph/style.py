"""The W3C PROV drawing conventions (the colours and shapes of the PROV primer's figures)."""

FONT = "Helvetica"

ENTITY = {"shape": "ellipse", "style": "filled", "fillcolor": "#FFFC87", "color": "#808080"}
ACTIVITY = {"shape": "box", "style": "filled", "fillcolor": "#9FB1FC", "color": "#0000FF"}
AGENT = {"shape": "house", "style": "filled", "fillcolor": "#FED37F", "color": "#000000"}
PLAN = {"shape": "ellipse", "style": "filled", "fillcolor": "#FFFC87", "color": "#808080", "peripheries": "2"}
# A summary standing for folded records keeps the colour of what it folds, with a dashed border.
FOLDED = {"style": "filled,dashed", "penwidth": "1.5"}

EDGE_COLORS = {
    "used": "#A00000",
    "wasGeneratedBy": "#006000",
    "wasAssociatedWith": "#D08000",
    "actedOnBehalfOf": "#C08000",
    "wasInformedBy": "#0000A0",
    "wasDerivedFrom": "#606060",
    "alternateOf": "#606060",
    "specializationOf": "#606060",
    "hadMember": "#606060",
    "wasAttributedTo": "#D08000",
    "wasStartedBy": "#0000A0",
    "wasEndedBy": "#0000A0",
    "wasInvalidatedBy": "#A00000",
    "wasInfluencedBy": "#606060",
}

# Specification graph (DfAnalyzer's dataflow view): transformations and their sets.
TRANSFORMATION = {"shape": "box", "style": "rounded,filled", "fillcolor": "#9FB1FC", "color": "#0000FF",
                  "fontsize": "14"}
DATA_SET = {"shape": "plain"}
SET_HEADER_COLOR = "#FFFC87"
SET_BODY_COLOR = "#FFFDE0"
