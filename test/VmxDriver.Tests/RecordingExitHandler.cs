// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Tests;

/// <summary>Records every exit it sees (a copy of the exit's data) and lets a test act in each stage.</summary>
internal sealed class RecordingExitHandler : IVmExitHandler
{
    private readonly Action<IoExit>? _action;

    public RecordingExitHandler(Action<IoExit>? action = null)
    {
        _action = action;
    }

    public List<ExitRecord> Exits { get; } = [];

    public void OnIoExit(IoExit ioExit)
    {
        Exits.Add(new ExitRecord(
            ioExit.Stage,
            ioExit.Qualification,
            ioExit.Rip,
            ioExit.InstructionLength,
            ioExit.GuestLinearAddress,
            ioExit.InstructionInformation,
            ioExit.Value,
            ioExit.Core.Index,
            ioExit.Core.ReadRegister(GuestRegister.Rcx),
            ioExit.Disassemble()));
        _action?.Invoke(ioExit);
    }
}

internal sealed record ExitRecord(ExitStage Stage, IoExitQualification Qualification, ulong Rip, int Length, ulong LinearAddress, uint Information, uint Value, int Core, ulong Rcx, string Text);
