"""Async views (the async ORM) and one sync view, all answering JSON."""

from django.db.models import Count
from django.http import HttpRequest, JsonResponse
from django.shortcuts import aget_object_or_404
from django.views.decorators.http import require_POST

from library.models import Author, Book, Review


async def book_list(request: HttpRequest) -> JsonResponse:
    titles = [book.title async for book in Book.objects.order_by("title")]
    return JsonResponse({"count": await Book.objects.acount(), "titles": titles})


async def book_detail(request: HttpRequest, pk: int) -> JsonResponse:
    book = await aget_object_or_404(Book.objects.select_related("author", "editor"), pk=pk)
    return JsonResponse(
        {
            "id": book.pk,
            "title": book.title,
            "author": book.author.name,
            "editor": book.editor.name if book.editor else None,
            "tags": [tag.name async for tag in book.tags.order_by("name")],
            "reviews": await book.reviews.acount(),
        }
    )


@require_POST
async def add_review(request: HttpRequest, pk: int) -> JsonResponse:
    user = await request.auser()
    if not user.is_authenticated:
        return JsonResponse({"error": "log in first"}, status=403)
    book = await aget_object_or_404(Book, pk=pk)
    review = await Review.objects.acreate(user=user, book=book, rating=int(request.POST["rating"]))
    return JsonResponse({"id": review.pk}, status=201)


def author_list(request: HttpRequest) -> JsonResponse:
    authors = list(
        Author.objects.annotate(books_written=Count("books")).order_by("name").values("name", "books_written")
    )
    return JsonResponse({"count": len(authors), "authors": authors})
