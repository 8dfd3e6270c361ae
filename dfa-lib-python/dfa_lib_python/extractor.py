"""Raw-data extractors, kept as specifications."""
from dfa_lib_python._tags import checked_tag, enum_value
from dfa_lib_python.extractor_cartridge import ExtractorCartridge
from dfa_lib_python.extractor_extension import ExtractorExtension


class Extractor:
    """Describes how attributes of a set could be extracted from raw data files.

    Specification only: the extractor is stored with its set in the dataflow specification so
    scripts written for the original library run unchanged, but nothing is extracted. Raw-data
    extraction needed a separate RDE binary that nobody ships; send the values you want stored in
    Elements instead.

    Args:
        tag: extractor tag.
        set_tag: tag of the set it fills.
        cartridge: ExtractorCartridge (EXTRACTION or INDEXING).
        extension: ExtractorExtension (PROGRAM, CSV, FASTBIT, ...).
        attributes: list of Attribute it would extract.
    """

    def __init__(self, tag, set_tag, cartridge, extension, attributes=None):
        self.tag = checked_tag(tag, "extractor tag")
        self.set_tag = checked_tag(set_tag, "extractor set tag")
        self.cartridge = ExtractorCartridge(enum_value(cartridge, ExtractorCartridge, "extractor cartridge"))
        self.extension = ExtractorExtension(enum_value(extension, ExtractorExtension, "extractor extension"))
        self.attributes = list(attributes or [])

    def get_specification(self):
        return {
            "tag": self.tag,
            "set_tag": self.set_tag.lower(),
            "cartridge": self.cartridge.value,
            "extension": self.extension.value,
            "attributes": [attribute.get_specification() for attribute in self.attributes],
        }
