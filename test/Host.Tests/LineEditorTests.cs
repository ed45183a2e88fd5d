// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using HyperDbgRemote.Host.Console;

namespace HyperDbgRemote.Host.Tests;

public sealed class LineEditorTests
{
    private static ConsoleKeyInfo Key(ConsoleKey key, char c = '\0', bool control = false) => new(c, key, false, false, control);

    private static LineEditor.EditState Type(IReadOnlyList<string> history, string text)
    {
        var s = new LineEditor.EditState(history);
        foreach (char c in text)
        {
            s.Apply(Key(ConsoleKey.A, c));
        }

        return s;
    }

    [Test]
    public void Editing_InsertAtCursorBackspaceDelete()
    {
        LineEditor.EditState s = Type([], "gx");
        s.Apply(Key(ConsoleKey.LeftArrow));
        s.Apply(Key(ConsoleKey.Backspace));
        Assert.That((s.Text, s.Cursor), Is.EqualTo(("x", 0)));
        s.Apply(Key(ConsoleKey.A, 'r'));
        s.Apply(Key(ConsoleKey.Delete));
        Assert.That(s.Text, Is.EqualTo("r"));
        s.Apply(Key(ConsoleKey.A, '\0', control: true));
        Assert.That(s.Cursor, Is.Zero);
        s.Apply(Key(ConsoleKey.K, '\0', control: true));
        Assert.That(s.Text, Is.Empty);
    }

    [Test]
    public void History_UpAndDown_RecallsLines()
    {
        var editor = new LineEditor();
        editor.Remember("r");
        editor.Remember("g");
        editor.Remember("g");
        editor.Remember("  ");
        Assert.That(editor.History, Is.EqualTo(new[] { "r", "g" }));

        var s = new LineEditor.EditState(editor.History);
        s.Apply(Key(ConsoleKey.UpArrow));
        Assert.That(s.Text, Is.EqualTo("g"));
        s.Apply(Key(ConsoleKey.UpArrow));
        s.Apply(Key(ConsoleKey.UpArrow));
        Assert.That(s.Text, Is.EqualTo("r"));
        s.Apply(Key(ConsoleKey.DownArrow));
        s.Apply(Key(ConsoleKey.DownArrow));
        Assert.That(s.Text, Is.Empty);
    }
}
