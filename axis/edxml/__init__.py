"""edXML packages (QCVN 102:2016): parse, model, validate, build."""
