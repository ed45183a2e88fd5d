// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.Script.Internal;

internal sealed partial class Interpreter
{
    private const int TimeTextLength = 12;
    private const int DateTextLength = 10;

    private ulong ReadPseudo(PseudoRegister pseudo) => pseudo switch
    {
        PseudoRegister.Pid => _target.ProcessId,
        PseudoRegister.Tid => _target.ThreadId,
        PseudoRegister.Pname => _target.ProcessNameAddress,
        PseudoRegister.Core => _target.CoreId,
        PseudoRegister.Proc => _target.ProcessObject,
        PseudoRegister.Thread => _target.ThreadObject,
        PseudoRegister.Peb => _target.Peb,
        PseudoRegister.Teb => _target.Teb,
        PseudoRegister.Ip => _target.InstructionPointer,
        PseudoRegister.Buffer => _context.Buffer,
        PseudoRegister.Context => _context.Context,
        PseudoRegister.EventTag => _context.EventTag,
        PseudoRegister.EventId => _context.EventId,
        PseudoRegister.EventStage => _context.EventStage,
        PseudoRegister.Time => FormatNow(time: true),
        _ => FormatNow(time: false),
    };

    /// <summary><c>$time</c> (<c>HH:MM:SS.mmm</c>) and <c>$date</c> (<c>YYYY-MM-DD</c>), spec 6.4: written as a
    /// NUL-terminated string into the run's scratch area; the value is its synthetic address (readable by <c>%s</c>,
    /// <c>strlen</c>, <c>db</c> ...). The area is reused from the start when full.</summary>
    private ulong FormatNow(bool time)
    {
        DateTimeOffset now = _target.LocalTime;
        Span<char> text = stackalloc char[TimeTextLength];
        bool formatted = time
            ? now.TryFormat(text, out int written, "HH:mm:ss.fff", System.Globalization.CultureInfo.InvariantCulture)
            : now.TryFormat(text, out written, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        if (!formatted)
        {
            written = 0;
        }

        int needed = (time ? TimeTextLength : DateTextLength) + 1;
        if (_state.ScratchUsed + needed > _state.Scratch.Length)
        {
            _state.ScratchUsed = 0;
        }

        int start = _state.ScratchUsed;
        Span<byte> target = _state.Scratch.AsSpan(start, needed);
        target.Clear();
        for (int i = 0; i < written && i < needed - 1; i++)
        {
            target[i] = (byte)text[i];
        }

        _state.ScratchUsed = start + needed;
        return SyntheticMemory.ScratchBase + (ulong)start;
    }
}
