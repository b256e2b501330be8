from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('channels', '0002_outbox'),
    ]

    operations = [
        migrations.AddField(
            model_name='connector',
            name='last_poll_at',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='last poll'),
        ),
        migrations.AddField(
            model_name='connector',
            name='next_poll_at',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='next poll'),
        ),
        migrations.AddField(
            model_name='connector',
            name='poll_failures',
            field=models.PositiveIntegerField(default=0, editable=False, verbose_name='failed polls in a row'),
        ),
    ]
