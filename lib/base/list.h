/* list: intrusive doubly-linked lists reached from a head pointer (as systemd's LIST_*).
 *
 * An item is a struct with `prev` and `next` pointers to its own type; the list is a
 * pointer to its first item, NULL when empty; the first item's prev and the last one's
 * next are NULL.
 *   struct conn { struct conn *prev, *next; ... };
 *   CK_LIST_PREPEND(s->conns, c);
 *   CK_LIST_REMOVE(s->conns, c);
 * head is an lvalue; head and item are evaluated once. Lists kept with a tail pointer or
 * around a sentinel item have their own code. */
#ifndef CK_BASE_LIST_H
#define CK_BASE_LIST_H

/* Puts item first on head. */
#define CK_LIST_PREPEND(head, item)                                                                \
	do {                                                                                       \
		__typeof__(head) *ck_list_head_ = &(head);                                         \
		__typeof__(head) ck_list_item_ = (item);                                           \
		ck_list_item_->prev = NULL;                                                        \
		ck_list_item_->next = *ck_list_head_;                                              \
		if (*ck_list_head_)                                                                \
			(*ck_list_head_)->prev = ck_list_item_;                                    \
		*ck_list_head_ = ck_list_item_;                                                    \
	} while (0)

/* Takes item off head and sets its prev and next to NULL. An item on no list (no prev,
 * not the head: one never added, or removed already) is left as it is. */
#define CK_LIST_REMOVE(head, item)                                                                 \
	do {                                                                                       \
		__typeof__(head) *ck_list_head_ = &(head);                                         \
		__typeof__(head) ck_list_item_ = (item);                                           \
		if (ck_list_item_->prev)                                                           \
			ck_list_item_->prev->next = ck_list_item_->next;                           \
		else if (*ck_list_head_ == ck_list_item_)                                          \
			*ck_list_head_ = ck_list_item_->next;                                      \
		if (ck_list_item_->next)                                                           \
			ck_list_item_->next->prev = ck_list_item_->prev;                           \
		ck_list_item_->prev = ck_list_item_->next = NULL;                                  \
	} while (0)

#endif
