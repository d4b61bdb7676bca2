"""Training the span reader on SQuAD v1.1 (`python -m rag.answer.training.train_reader`, see
`make reader`): the data split by article (`squad`), its questions reworded by WordNet synonyms
(`reword`), the dev figures (`dev_figures`) and the int8 ONNX export (`export_reader`). Run by
developers only; nothing at answer time imports it."""
