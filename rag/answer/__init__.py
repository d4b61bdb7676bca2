"""Answering from retrieved passages: the trained span reader (`Reader`), its answer and refusal
(`from_reader.compose`), and the reader's training and export (`python -m rag.answer.train_reader`)."""
