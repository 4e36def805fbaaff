"""The English -> French phrasebook the tiny translator memorises.

Tests assert these exact pairs through transformers.js, so changing an entry means
regenerating the model (python make_tiny_translator.py) and committing both.
Punctuation is kept as separate pieces ("vous ?" keeps the French space before "?"),
which is why the tokenizer turns clean_up_tokenization_spaces off.
"""

# Exactly what transformers.js users add for T5 translation (t5-small's
# task_specific_params.translation_en_to_fr.prefix).
T5_PREFIX = "translate English to French: "

PHRASES = [
    ("Hello", "Bonjour"),
    ("Good evening", "Bonsoir"),
    ("Good night", "Bonne nuit"),
    ("Goodbye", "Au revoir"),
    ("Thank you", "Merci"),
    ("Thank you very much", "Merci beaucoup"),
    ("Please", "S'il vous plaît"),
    ("Yes", "Oui"),
    ("No", "Non"),
    ("Excuse me", "Excusez-moi"),
    ("I am sorry", "Je suis désolé"),
    ("How are you?", "Comment allez-vous ?"),
    ("I am fine", "Je vais bien"),
    ("What is your name?", "Comment vous appelez-vous ?"),
    ("My name is Paul", "Je m'appelle Paul"),
    ("Nice to meet you", "Enchanté"),
    ("Where is the station?", "Où est la gare ?"),
    ("I love you", "Je t'aime"),
    ("The cat is black", "Le chat est noir"),
    ("The house is big", "La maison est grande"),
    ("I like cheese", "J'aime le fromage"),
    ("The weather is nice", "Il fait beau"),
    ("It is raining", "Il pleut"),
    ("I do not understand", "Je ne comprends pas"),
    ("Do you speak English?", "Parlez-vous anglais ?"),
    ("I speak a little French", "Je parle un peu français"),
    ("The bill, please", "L'addition, s'il vous plaît"),
    ("A coffee, please", "Un café, s'il vous plaît"),
    ("Happy birthday", "Joyeux anniversaire"),
    ("See you tomorrow", "À demain"),
    ("Welcome", "Bienvenue"),
    ("Cheers", "Santé"),
]
