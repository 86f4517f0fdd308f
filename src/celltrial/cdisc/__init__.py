"""The standards at the border: CDISC SDTM and ADaM in and out, XPT v5, Dataset-JSON,
Define-XML and ODM, with CDISC controlled terminology shipped as data.

celltrial's own dataset (:mod:`celltrial.dataset`) stays as it is; this package maps an SDTM
study into it (:func:`read_sdtm_study`) and writes conforming SDTM and ADaM out of it.
It uses :mod:`celltrial.protocol` and :mod:`celltrial.dataset` only.
"""

from celltrial.cdisc.io import (
    read_dataset_json,
    read_table,
    read_tables,
    read_xpt,
    sniff,
    write_dataset_json,
    write_xpt,
)
from celltrial.cdisc.sdtm_in import Mapping, SdtmStudy, load_mapping, map_study, read_sdtm_study

__all__ = [
    "Mapping",
    "SdtmStudy",
    "load_mapping",
    "map_study",
    "read_dataset_json",
    "read_sdtm_study",
    "read_table",
    "read_tables",
    "read_xpt",
    "sniff",
    "write_dataset_json",
    "write_xpt",
]
