// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Text;

namespace HyperDbgRemote.Host.Console;

/// <summary>
/// Reads command lines on a terminal with editing (left/right, home/end, backspace/delete, Ctrl+A/E/U/K) and history
/// (up/down). When input is redirected it reads plain lines.
/// </summary>
internal sealed class LineEditor
{
    /// <summary>Most lines kept in history.</summary>
    public const int HistoryLimit = 1000;

    private readonly List<string> _history = [];

    /// <summary>The history, oldest first.</summary>
    public IReadOnlyList<string> History => _history;

    /// <summary>Adds a line to the history (not blank, not a repeat of the last line).</summary>
    public void Remember(string line)
    {
        if (string.IsNullOrWhiteSpace(line) || (_history.Count > 0 && _history[^1] == line))
        {
            return;
        }

        _history.Add(line);
        if (_history.Count > HistoryLimit)
        {
            _history.RemoveAt(0);
        }
    }

    /// <summary>Reads one line after printing <paramref name="prompt"/>; null at end of input.</summary>
    public string? ReadLine(string prompt)
    {
        System.Console.Write(prompt);
        if (System.Console.IsInputRedirected)
        {
            return System.Console.ReadLine();
        }

        var state = new EditState(_history);
        while (true)
        {
            ConsoleKeyInfo key = System.Console.ReadKey(intercept: true);
            if (key.Key == ConsoleKey.Enter)
            {
                System.Console.WriteLine();
                return state.Text;
            }

            if (key.Key == ConsoleKey.D && key.Modifiers.HasFlag(ConsoleModifiers.Control) && state.Text.Length == 0)
            {
                System.Console.WriteLine();
                return null;
            }

            int before = state.Text.Length;
            state.Apply(key);
            Redraw(prompt, state, before);
        }
    }

    private static void Redraw(string prompt, EditState state, int previousLength)
    {
        System.Console.Write('\r');
        System.Console.Write(prompt);
        System.Console.Write(state.Text);
        if (previousLength > state.Text.Length)
        {
            System.Console.Write(new string(' ', previousLength - state.Text.Length));
        }

        System.Console.Write('\r');
        System.Console.Write(prompt);
        System.Console.Write(state.Text[..state.Cursor]);
    }

    /// <summary>The editing logic, separate from the terminal so it can be tested.</summary>
    internal sealed class EditState
    {
        private readonly IReadOnlyList<string> _history;
        private readonly StringBuilder _text = new();
        private int _historyIndex;

        public EditState(IReadOnlyList<string> history)
        {
            _history = history;
            _historyIndex = history.Count;
        }

        public string Text => _text.ToString();

        public int Cursor { get; private set; }

        public void Apply(ConsoleKeyInfo key)
        {
            bool control = key.Modifiers.HasFlag(ConsoleModifiers.Control);
            switch (key.Key)
            {
                case ConsoleKey.LeftArrow:
                    Cursor = Math.Max(0, Cursor - 1);
                    break;
                case ConsoleKey.RightArrow:
                    Cursor = Math.Min(_text.Length, Cursor + 1);
                    break;
                case ConsoleKey.Home:
                case ConsoleKey.A when control:
                    Cursor = 0;
                    break;
                case ConsoleKey.End:
                case ConsoleKey.E when control:
                    Cursor = _text.Length;
                    break;
                case ConsoleKey.Backspace when Cursor > 0:
                    _text.Remove(--Cursor, 1);
                    break;
                case ConsoleKey.Delete when Cursor < _text.Length:
                    _text.Remove(Cursor, 1);
                    break;
                case ConsoleKey.U when control:
                    _text.Remove(0, Cursor);
                    Cursor = 0;
                    break;
                case ConsoleKey.K when control:
                    _text.Remove(Cursor, _text.Length - Cursor);
                    break;
                case ConsoleKey.UpArrow when _historyIndex > 0:
                    Replace(_history[--_historyIndex]);
                    break;
                case ConsoleKey.DownArrow when _historyIndex < _history.Count:
                    _historyIndex++;
                    Replace(_historyIndex == _history.Count ? string.Empty : _history[_historyIndex]);
                    break;
                default:
                    if (!char.IsControl(key.KeyChar))
                    {
                        _text.Insert(Cursor++, key.KeyChar);
                    }

                    break;
            }
        }

        private void Replace(string line)
        {
            _text.Clear().Append(line);
            Cursor = _text.Length;
        }
    }
}
